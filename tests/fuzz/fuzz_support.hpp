// Helpers shared by the libFuzzer targets in this folder.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>

namespace ocean::fuzz {

/// Silences spdlog once per process: the targets log on every rejected input, and printing those
/// lines would dominate the run time.
inline void quiet_logging()
{
    static bool const done = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)done;
}

/// Runs `work` on a fresh io_context until it completes and returns its result. Exceptions from
/// the coroutine propagate to the caller. `limit` bounds the run, so an input that makes a
/// handler wait on a timer (an emulator fault delay, for example) cannot stall the fuzzer. When
/// the limit passes first, the result is nullopt.
template <typename T>
std::optional<T> run_coroutine(boost::asio::awaitable<T> work, std::chrono::milliseconds limit)
{
    boost::asio::io_context io;
    auto future = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
    io.run_for(limit);
    if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        return std::nullopt;
    return future.get();
}

/// A fixed wall-clock time, so every run of an input gets the same "now".
inline std::chrono::system_clock::time_point fixed_now()
{
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));
}

} // namespace ocean::fuzz
