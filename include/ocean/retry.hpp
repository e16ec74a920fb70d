// Retry policy shared by the Port client, third-party calls and webhook processors.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace ocean {

/// Exponential backoff with jitter, a cap per delay and a total budget.
struct retry_policy {
    /// Attempts in all, the first one included. 1 disables retries.
    unsigned max_attempts = 10;
    std::chrono::milliseconds initial_delay{300};
    double multiplier = 2.0;
    std::chrono::milliseconds max_delay{30'000};
    /// Each delay is scaled by a random factor in [1 - jitter, 1 + jitter].
    double jitter = 0.1;
    /// No retry starts once this much time has passed since the first attempt. Zero: no budget.
    std::chrono::milliseconds total_budget{300'000};

    /// Returns the delay before attempt `attempt` (2 for the first retry), without jitter.
    std::chrono::milliseconds base_delay(unsigned attempt) const noexcept;

    /// Returns the delay before attempt `attempt` with jitter applied; `unit_random` is in [0, 1).
    std::chrono::milliseconds delay(unsigned attempt, double unit_random) const noexcept;

    /// Returns the delay before the next attempt, or nullopt when the policy allows no more:
    /// `attempt` is the number of the next attempt (2 for the first retry), `elapsed` the time
    /// since the first attempt began and `server_hint` a Retry-After style delay, which wins over
    /// the computed backoff but is capped at max_delay.
    std::optional<std::chrono::milliseconds> next_delay(unsigned attempt, std::chrono::milliseconds elapsed,
                                                        std::optional<std::chrono::milliseconds> server_hint,
                                                        double unit_random) const noexcept;

    /// A policy that never retries.
    static retry_policy none() noexcept
    {
        retry_policy p;
        p.max_attempts = 1;
        return p;
    }
};

/// Parses a Retry-After value: delay-seconds or an HTTP-date (RFC 9110). Returns nullopt for
/// anything else. `now` is the current time for the HTTP-date form; past dates give zero.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

/// Parses `x-ratelimit-reset`: seconds until reset, or an epoch timestamp in seconds when the
/// value is above 10,000 (Port sends epoch seconds). Returns the wait from `now`.
std::optional<std::chrono::milliseconds> parse_ratelimit_reset(std::string_view value,
                                                               std::chrono::system_clock::time_point now);

} // namespace ocean
