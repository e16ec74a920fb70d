// Runs an internal coroutine as the body of a type-erased asynchronous operation.
//
// Public initiating functions hand the compiled library an any_completion_handler (see
// ocean/detail/async.hpp). launch() starts an awaitable on the object's executor and completes
// that handler with the coroutine's result, honouring the handler's associations:
//
//   void client::send_impl(request r, any_completion_handler<void(error_code, response)> h)
//   {
//       ocean::detail::launch(impl_->executor, run_send(impl_, std::move(r)), std::move(h));
//   }
//
// Contract:
// - The handler runs exactly once, on its associated executor (falling back to `executor`), and
//   never inside the initiating call, because co_spawn posts the completion of a coroutine that
//   finished without leaving the calling thread.
// - The coroutine runs on `executor`. The handler's associated cancellation slot is forwarded to
//   it, and its cancellation filter accepts terminal, partial and total requests, so any
//   asynchronous operation it awaits is cancelled when the caller emits a signal. A cancellation
//   arriving from another thread is delivered through `executor`.
// - A coroutine that returns normally completes with a default error_code and its value. One that
//   throws completes with an error and a value-initialized T: boost::system::system_error gives
//   its code, std::bad_alloc gives errc::not_enough_memory, and any other exception is logged
//   and gives ocean::error::protocol_error; ocean::config_error is logged and gives
//   ocean::error::invalid_config.
// - T must be default-constructible and movable.
#pragma once

#include <ocean/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <new>
#include <utility>

namespace ocean::detail {

/// Converts the exception that ended a coroutine into the error_code its handler receives.
/// A null pointer gives a default error_code.
inline boost::system::error_code exception_to_error_code(std::exception_ptr const& failure) noexcept
{
    if (!failure)
        return {};
    try {
        std::rethrow_exception(failure);
    }
    catch (boost::system::system_error const& e) {
        return e.code();
    }
    catch (std::bad_alloc const&) {
        return make_error_code(boost::system::errc::not_enough_memory);
    }
    catch (config_error const& e) {
        spdlog::error("{}", e.what());
        return make_error_code(error::invalid_config);
    }
    catch (std::exception const& e) {
        spdlog::error("asynchronous operation failed with an unexpected exception: {}", e.what());
        return make_error_code(error::protocol_error);
    }
    catch (...) {
        spdlog::error("asynchronous operation failed with an unexpected non-standard exception");
        return make_error_code(error::protocol_error);
    }
}

namespace launch_detail {

// Widens the coroutine's cancellation filter before running the operation body. co_spawn starts
// with terminal cancellation only, and the SDK documents partial and total cancellation too.
template <class T>
boost::asio::awaitable<T> with_full_cancellation(boost::asio::awaitable<T> body)
{
    co_await boost::asio::this_coro::reset_cancellation_state(boost::asio::enable_total_cancellation());
    co_return co_await std::move(body);
}

// Builds co_spawn's completion handler from `completion`, which owns `handler`: it carries the
// caller's cancellation slot, so co_spawn forwards signals into the coroutine, and the caller's
// executor, so co_spawn dispatches the completion there. The associations are read before
// `handler` moves into `completion`.
template <class Handler, class MakeCompletion>
auto bind_associations(boost::asio::any_io_executor const& fallback, Handler handler, MakeCompletion make_completion)
{
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto executor = boost::asio::get_associated_executor(handler, fallback);
    return boost::asio::bind_cancellation_slot(
        slot, boost::asio::bind_executor(std::move(executor), make_completion(std::move(handler))));
}

} // namespace launch_detail

/// Wraps `operation` so that `owner` stays alive until it completes. Member coroutines of a shared
/// implementation object otherwise dangle when the public handle is destroyed mid-flight.
template <class T, class Owner>
boost::asio::awaitable<T> keep_alive([[maybe_unused]] std::shared_ptr<Owner> owner, boost::asio::awaitable<T> operation)
{
    co_return co_await std::move(operation);
}

template <class Owner>
boost::asio::awaitable<void> keep_alive([[maybe_unused]] std::shared_ptr<Owner> owner,
                                        boost::asio::awaitable<void> operation)
{
    // clang-tidy 14 reports a use after move here that does not exist: `operation` is moved once.
    co_await std::move(operation); // NOLINT(bugprone-use-after-move)
}

/// Runs `body` on `executor` and completes `handler` with (error_code, result); see the contract
/// at the top of this file.
template <class T>
void launch(boost::asio::any_io_executor executor, boost::asio::awaitable<T> body,
            boost::asio::any_completion_handler<void(boost::system::error_code, T)> handler)
{
    auto bound = launch_detail::bind_associations(executor, std::move(handler), [](auto owned) {
        return [owned = std::move(owned)](std::exception_ptr failure, T value) mutable {
            auto const ec = exception_to_error_code(failure);
            if (ec)
                value = T{};
            std::move(owned)(ec, std::move(value));
        };
    });
    boost::asio::co_spawn(executor, launch_detail::with_full_cancellation(std::move(body)), std::move(bound));
}

/// Runs `body` on `executor` and completes `handler` with its error_code; see the contract at
/// the top of this file.
inline void launch(boost::asio::any_io_executor executor, boost::asio::awaitable<void> body,
                   boost::asio::any_completion_handler<void(boost::system::error_code)> handler)
{
    auto bound = launch_detail::bind_associations(executor, std::move(handler), [](auto owned) {
        return [owned = std::move(owned)](std::exception_ptr failure) mutable {
            std::move(owned)(exception_to_error_code(failure));
        };
    });
    boost::asio::co_spawn(executor, launch_detail::with_full_cancellation(std::move(body)), std::move(bound));
}

} // namespace ocean::detail
