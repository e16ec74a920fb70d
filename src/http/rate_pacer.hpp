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
/// `x-ratelimit-reset`. The pacer keeps, per host, an estimate of how many requests it may still
/// send in the current window: the lowest remaining count reported for that window, minus the
/// requests in flight. A request is in flight from reserve() until observe() or release()
/// settles it, so requests that the server has not counted yet are never spent twice.
///
/// While the estimate stays at or above `threshold` × limit, requests go out at once. Below it,
/// the pacer hands out send slots spaced (time until reset) / estimate apart. With nothing left,
/// requests wait for the reset.
///
/// When the reset time passes, the pacer opens the next window itself with the last known limit,
/// minus every request still in flight, because those may be counted in the new window. It does
/// not wait for the first response of the new window, so no burst goes out before one arrives.
/// Reports of a window that already ended (late responses) settle their reservation and change
/// nothing else. A window that the pacer opened itself and that no response confirmed is
/// forgotten at its estimated end.
///
/// The estimate errs low: a request that the server counted before it responded to an earlier
/// one is subtracted twice until the window ends, so each window may go unused by up to the number of
/// requests in flight. Other clients sharing the limit show only through the reported counts.
///
/// Callers pass every time point explicitly, so tests need no clock.
class rate_pacer {
public:
    using clock = std::chrono::steady_clock;

    explicit rate_pacer(rate_pacer_settings config = {}) noexcept : settings_(config) {}

    /// Reserves a send slot for one request to `host` made at `now` and returns how long the
    /// request waits before it is sent: zero unless the host's window is nearly used up. The
    /// request counts as in flight until observe() or release() settles it.
    std::chrono::milliseconds reserve(std::string_view host, clock::time_point now);

    /// Settles one reservation for `host` with the response that arrived at `now`, and records
    /// the rate-limit state it reported. A response without all three values settles the
    /// reservation and leaves the known state as it is.
    void observe(std::string_view host, std::optional<std::uint64_t> limit, std::optional<std::uint64_t> remaining,
                 std::optional<std::chrono::milliseconds> reset_in, clock::time_point now);

    /// Settles one reservation for `host` that got no response (a network error or cancellation).
    void release(std::string_view host) noexcept;

    /// Returns how many more requests the pacer assumes `host` accepts in the current window, if
    /// it tracks a window for it.
    std::optional<std::uint64_t> available(std::string_view host) const;

    /// Returns the number of reservations for `host` not settled yet.
    std::uint64_t in_flight(std::string_view host) const;

private:
    struct window {
        std::uint64_t limit = 0;
        /// Requests that may still be sent in this window, in-flight ones already subtracted.
        std::uint64_t available = 0;
        clock::time_point reset_at;
        /// The latest slot handed out, or the time the window became known.
        clock::time_point last_slot;
        /// False for a window the pacer opened at a reset, before a response reported it.
        bool confirmed = true;
    };

    struct host_state {
        std::uint64_t in_flight = 0;
        std::optional<window> current;
        /// The reset time of the last window a response reported; reports at or before it are late.
        std::optional<clock::time_point> last_reported_reset;
        /// Maximum time seen between a window's first report and its reset, used as the length of
        /// a window the pacer opens itself.
        clock::duration period{0};
    };

    bool enabled() const noexcept { return settings_.threshold > 0; }
    void roll_over(host_state& state, clock::time_point now) const;

    rate_pacer_settings settings_;
    std::map<std::string, host_state, std::less<>> hosts_;
};

} // namespace ocean::http::detail
