#include "http/rate_pacer.hpp"

#include <algorithm>

namespace ocean::http::detail {
namespace {

// Reports within this distance of each other describe the same window. Servers that send the
// reset as relative seconds shift it by up to a second between responses.
constexpr std::chrono::seconds same_window_tolerance{1};

} // namespace

void rate_pacer::observe(std::string_view host, std::optional<std::uint64_t> limit,
                         std::optional<std::uint64_t> remaining, std::optional<std::chrono::milliseconds> reset_in,
                         clock::time_point now)
{
    if (!limit || !remaining || !reset_in || *limit == 0)
        return;

    auto const reset_at = now + *reset_in;
    auto it = windows_.find(host);
    if (it == windows_.end()) {
        windows_.emplace(std::string(host), window{*limit, *remaining, reset_at, now});
        return;
    }

    window& known = it->second;
    auto const distance = reset_at > known.reset_at ? reset_at - known.reset_at : known.reset_at - reset_at;
    // Within one window, responses to overlapping requests arrive in any order, and the slots
    // already handed out are not counted yet by the server, so the lower count is the safer one.
    if (distance <= same_window_tolerance)
        known.remaining = std::min(known.remaining, *remaining);
    else
        known.remaining = *remaining;
    known.limit = *limit;
    known.reset_at = reset_at;
}

std::chrono::milliseconds rate_pacer::reserve(std::string_view host, clock::time_point now)
{
    using std::chrono::milliseconds;

    auto it = windows_.find(host);
    if (it == windows_.end())
        return milliseconds{0};
    if (now >= it->second.reset_at) {
        windows_.erase(it);
        return milliseconds{0};
    }

    window& known = it->second;
    auto const low_mark = settings_.threshold * static_cast<double>(known.limit);
    if (settings_.threshold <= 0 || static_cast<double>(known.remaining) >= low_mark) {
        if (known.remaining > 0)
            --known.remaining;
        known.last_slot = std::max(known.last_slot, now);
        return milliseconds{0};
    }

    clock::time_point slot;
    if (known.remaining == 0) {
        slot = known.reset_at;
    }
    else {
        auto const interval = (known.reset_at - now) / static_cast<std::int64_t>(known.remaining);
        slot = std::min(std::max(now, known.last_slot + interval), known.reset_at);
        --known.remaining;
    }
    known.last_slot = std::max(known.last_slot, slot);
    auto const wait = std::chrono::ceil<milliseconds>(slot - now);
    return std::min(wait, settings_.max_wait);
}

std::optional<std::uint64_t> rate_pacer::remaining(std::string_view host) const
{
    auto it = windows_.find(host);
    if (it == windows_.end())
        return std::nullopt;
    return it->second.remaining;
}

} // namespace ocean::http::detail
