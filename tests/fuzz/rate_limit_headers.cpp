// Fuzzes the Retry-After and x-ratelimit-* parsers and what the client does with their results:
// the retry policy's next delay and the per-host rate pacer.
#include "fuzz_support.hpp"

#include "http/rate_pacer.hpp"

#include <ocean/retry.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace {

// The client reads x-ratelimit-limit and x-ratelimit-remaining the same way: the whole value as
// an unsigned decimal, or nothing.
std::optional<std::uint64_t> parse_count(std::string const& value)
{
    std::uint64_t out = 0;
    auto const [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc{} || end != value.data() + value.size())
        return std::nullopt;
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    FuzzedDataProvider input(data, size);
    auto const retry_after = input.ConsumeRandomLengthString(128);
    auto const reset = input.ConsumeRandomLengthString(64);
    auto const limit = input.ConsumeRandomLengthString(32);
    auto const remaining = input.ConsumeRandomLengthString(32);
    auto const now = ocean::fuzz::fixed_now();

    auto const hint = ocean::parse_retry_after(retry_after, now);
    auto const reset_in = ocean::parse_ratelimit_reset(reset, now);

    // The policy and pacer settings come from the integration's configuration, not from the
    // network, so they stay within sane ranges. Only the header values are hostile.
    constexpr std::int64_t day_ms = 86'400'000;
    ocean::retry_policy policy;
    policy.max_attempts = input.ConsumeIntegralInRange<unsigned>(1, 100);
    policy.initial_delay = std::chrono::milliseconds(input.ConsumeIntegralInRange<std::int64_t>(0, day_ms));
    policy.multiplier = input.ConsumeFloatingPointInRange<double>(1.0, 16.0);
    policy.max_delay = std::chrono::milliseconds(input.ConsumeIntegralInRange<std::int64_t>(0, day_ms));
    policy.jitter = input.ConsumeProbability<double>();
    policy.total_budget = std::chrono::milliseconds(input.ConsumeIntegralInRange<std::int64_t>(0, day_ms));
    auto const attempt = input.ConsumeIntegralInRange<unsigned>(1, 1000);
    auto const elapsed = std::chrono::milliseconds(input.ConsumeIntegralInRange<std::int64_t>(0, day_ms));
    (void)policy.next_delay(attempt, elapsed, hint, input.ConsumeProbability<double>());
    (void)policy.next_delay(attempt, elapsed, reset_in, input.ConsumeProbability<double>());

    ocean::http::detail::rate_pacer_settings const settings{
        input.ConsumeProbability<double>(),
        std::chrono::milliseconds(input.ConsumeIntegralInRange<std::int64_t>(0, day_ms))};
    ocean::http::detail::rate_pacer pacer(settings);
    auto at = ocean::http::detail::rate_pacer::clock::time_point(std::chrono::hours(1000));
    pacer.observe("api.example.test", parse_count(limit), parse_count(remaining), reset_in, at);
    // Reservations, responses with the same headers and releases in the order the input picks.
    while (input.remaining_bytes() > 0) {
        at += std::chrono::milliseconds(input.ConsumeIntegralInRange<std::int64_t>(0, 3'600'000));
        switch (input.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: (void)pacer.reserve("api.example.test", at); break;
        case 1: pacer.observe("api.example.test", parse_count(limit), parse_count(remaining), reset_in, at); break;
        default: pacer.release("api.example.test"); break;
        }
    }
    (void)pacer.available("api.example.test");
    (void)pacer.in_flight("api.example.test");
    return 0;
}
