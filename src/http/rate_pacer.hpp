// Proactive client-side pacing from the x-ratelimit-* response headers, without I/O or clocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ocean::http::detail {

/// Settings of rate_pacer.
struct rate_pacer_settings {
    /// Fraction of the limit below which pacing starts; zero or less disables pacing.
    double threshold = 0.1;
    /// Maximum wait handed out for one request.
    std::chrono::milliseconds max_wait{30'000};
};

/// Spreads the requests to each host over what is left of its rate-limit window.
///
/// Servers such as Port report `x-ratelimit-limit`, `x-ratelimit-remaining` and
/// `x-ratelimit-reset`. While the remaining count stays at or above `threshold` × limit, requests
/// go out at once. Below it, the pacer hands out send slots spaced (time until reset) / remaining
/// apart, so the client uses up the window evenly instead of running into 429s. With nothing
/// remaining, requests wait for the reset. A window whose reset time has passed is forgotten.
///
/// Callers pass every time point explicitly, so tests need no clock.
class rate_pacer {
public:
    using clock = std::chrono::steady_clock;

    explicit rate_pacer(rate_pacer_settings config = {}) noexcept : settings_(config) {}

    /// Records the rate-limit state that a response from `host` reported at `now`. Missing
    /// values leave the known state as it is.
    void observe(std::string_view host, std::optional<std::uint64_t> limit, std::optional<std::uint64_t> remaining,
                 std::optional<std::chrono::milliseconds> reset_in, clock::time_point now);

    /// Reserves a send slot for one request to `host` made at `now` and returns how long the
    /// request waits before it is sent: zero unless the host's window is nearly used up.
    std::chrono::milliseconds reserve(std::string_view host, clock::time_point now);

    /// Returns the remaining count that the pacer currently assumes for `host`, if it tracks one.
    std::optional<std::uint64_t> remaining(std::string_view host) const;

private:
    struct window {
        std::uint64_t limit = 0;
        /// The server's last report, lowered by one for every slot handed out since.
        std::uint64_t remaining = 0;
        clock::time_point reset_at;
        /// The latest slot handed out, or the time of the first report.
        clock::time_point last_slot;
    };

    rate_pacer_settings settings_;
    std::map<std::string, window, std::less<>> windows_;
};

} // namespace ocean::http::detail
