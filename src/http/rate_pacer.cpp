#include "http/rate_pacer.hpp"

#include <algorithm>

namespace ocean::http::detail {
namespace {

// Reports within this distance of each other describe the same window. Servers that send the
// reset as relative seconds shift it by up to a second between responses.
constexpr std::chrono::seconds same_window_tolerance{1};

} // namespace

void rate_pacer::roll_over(host_state& state, clock::time_point now) const
{
    if (!state.current || now < state.current->reset_at)
        return;

    window const ended = *state.current;
    state.current.reset();
    // A window the pacer guessed and no response confirmed predicts nothing about the next one.
    // A whole window without a response means the known limit may be out of date.
    if (!ended.confirmed || state.period <= clock::duration::zero() || now >= ended.reset_at + state.period)
        return;

    window next;
    next.limit = ended.limit;
    // Requests in flight now may reach the server after its reset and count in the new window.
    next.available = ended.limit > state.in_flight ? ended.limit - state.in_flight : 0;
    next.reset_at = ended.reset_at + state.period;
    next.last_slot = now;
    next.confirmed = false;
    state.current = next;
}

std::chrono::milliseconds rate_pacer::reserve(std::string_view host, clock::time_point now)
{
    using std::chrono::milliseconds;
    if (!enabled())
        return milliseconds{0};

    auto it = hosts_.find(host);
    if (it == hosts_.end())
        it = hosts_.emplace(std::string(host), host_state{}).first;
    host_state& state = it->second;
    roll_over(state, now);
    ++state.in_flight;
    if (!state.current)
        return milliseconds{0};

    window& known = *state.current;
    auto const low_mark = settings_.threshold * static_cast<double>(known.limit);
    if (static_cast<double>(known.available) >= low_mark) {
        --known.available;  // low_mark > 0 here, so available > 0
        known.last_slot = std::max(known.last_slot, now);
        return milliseconds{0};
    }

    // Nothing left: the request goes out at the reset and counts in the next window, because it
    // stays in flight until then.
    clock::time_point slot = known.reset_at;
    if (known.available > 0) {
        auto const interval = (known.reset_at - now) / static_cast<std::int64_t>(known.available);
        slot = std::min(std::max(now, known.last_slot + interval), known.reset_at);
        --known.available;
    }
    known.last_slot = std::max(known.last_slot, slot);
    auto const wait = std::chrono::ceil<milliseconds>(slot - now);
    return std::min(wait, settings_.max_wait);
}

void rate_pacer::observe(std::string_view host, std::optional<std::uint64_t> limit,
                         std::optional<std::uint64_t> remaining, std::optional<std::chrono::milliseconds> reset_in,
                         clock::time_point now)
{
    if (!enabled())
        return;

    auto it = hosts_.find(host);
    if (it == hosts_.end())
        it = hosts_.emplace(std::string(host), host_state{}).first;
    host_state& state = it->second;
    if (state.in_flight > 0)
        --state.in_flight;
    roll_over(state, now);

    if (!limit || !remaining || !reset_in || *limit == 0 || *reset_in <= std::chrono::milliseconds{0})
        return;

    auto const reset_at = now + *reset_in;
    // The server counted this request before it responded, but maybe not the others still in
    // flight. Subtracting them all keeps the estimate at or below what the server allows.
    auto const reported = std::min(*remaining, *limit);
    auto const estimate = reported > state.in_flight ? reported - state.in_flight : 0;

    if (state.last_reported_reset && reset_at <= *state.last_reported_reset + same_window_tolerance) {
        // The window reported last, or an older one. Only a report of the window still in use
        // changes anything: within one window, responses to overlapping requests arrive in any
        // order and the server's count only falls, so the lower estimate is the safer one.
        bool const current_window = state.current && state.current->confirmed &&
                                    reset_at + same_window_tolerance >= *state.last_reported_reset;
        if (!current_window)
            return;
        window& known = *state.current;
        known.available = std::min(known.available, estimate);
        known.limit = *limit;
        known.reset_at = std::max(known.reset_at, reset_at);
        state.last_reported_reset = std::max(*state.last_reported_reset, reset_at);
        return;
    }

    // A window no response reported before. It replaces a window the pacer opened itself, whose
    // count rested on the old limit and an estimated reset.
    window fresh;
    fresh.limit = *limit;
    fresh.available = estimate;
    fresh.reset_at = reset_at;
    fresh.last_slot = now;
    fresh.confirmed = true;
    state.current = fresh;
    state.last_reported_reset = reset_at;
    state.period = std::max(state.period, reset_at - now);
}

void rate_pacer::release(std::string_view host) noexcept
{
    auto it = hosts_.find(host);
    if (it != hosts_.end() && it->second.in_flight > 0)
        --it->second.in_flight;
}

std::optional<std::uint64_t> rate_pacer::available(std::string_view host) const
{
    auto it = hosts_.find(host);
    if (it == hosts_.end() || !it->second.current)
        return std::nullopt;
    return it->second.current->available;
}

std::uint64_t rate_pacer::in_flight(std::string_view host) const
{
    auto it = hosts_.find(host);
    return it == hosts_.end() ? 0 : it->second.in_flight;
}

} // namespace ocean::http::detail
