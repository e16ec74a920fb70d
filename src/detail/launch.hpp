// Runs an internal coroutine and completes a type-erased handler with its outcome.
#pragma once

#include <ocean/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>

namespace ocean::detail {

/// Maps an exception thrown by an internal coroutine to the error_code its handler receives.
inline boost::system::error_code to_error_code(std::exception_ptr const& error) noexcept
{
    if (!error)
        return {};
    try {
        std::rethrow_exception(error);
    } catch (boost::system::system_error const& e) {
        spdlog::debug("operation failed: {}", e.what());
        return e.code();
    } catch (config_error const& e) {
        spdlog::error("{}", e.what());
        return make_error_code(error::invalid_config);
    } catch (std::exception const& e) {
        spdlog::error("internal operation failed: {}", e.what());
    } catch (...) {
        spdlog::error("internal operation failed with an unknown exception");
    }
    return make_error_code(error::protocol_error);
}

/// Wraps `operation` so that `owner` stays alive until it completes; member coroutines of a
/// shared implementation object otherwise dangle when the public handle is destroyed mid-flight.
template <class T, class Owner>
boost::asio::awaitable<T> keep_alive([[maybe_unused]] std::shared_ptr<Owner> owner, boost::asio::awaitable<T> operation)
{
    co_return co_await std::move(operation);
}

template <class Owner>
boost::asio::awaitable<void> keep_alive([[maybe_unused]] std::shared_ptr<Owner> owner,
                                        boost::asio::awaitable<void> operation)
{
    co_await std::move(operation);
}

/// Co-spawns `operation` on `executor` and completes `handler` with (error_code, T) on the
/// handler's associated executor. The handler's cancellation slot reaches the coroutine, so
/// per-operation cancellation works for every completion token. T must be default-constructible.
template <class T>
void launch(boost::asio::any_io_executor executor, boost::asio::awaitable<T> operation,
            boost::asio::any_completion_handler<void(boost::system::error_code, T)> handler)
{
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    boost::asio::co_spawn(
        executor, std::move(operation),
        boost::asio::bind_cancellation_slot(slot, [h = std::move(handler)](std::exception_ptr error, T value) mutable {
            auto ec = to_error_code(error);
            boost::asio::dispatch(boost::asio::append(std::move(h), ec, std::move(value)));
        }));
}

/// The void variant of launch: completes `handler` with (error_code).
inline void launch(boost::asio::any_io_executor executor, boost::asio::awaitable<void> operation,
                   boost::asio::any_completion_handler<void(boost::system::error_code)> handler)
{
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    boost::asio::co_spawn(
        executor, std::move(operation),
        boost::asio::bind_cancellation_slot(slot, [h = std::move(handler)](std::exception_ptr error) mutable {
            boost::asio::dispatch(boost::asio::append(std::move(h), to_error_code(error)));
        }));
}

} // namespace ocean::detail
