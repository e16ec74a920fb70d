// Per-key FIFO scheduling of inbox events (sans-I/O): one event per key at a time, keys in parallel.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ocean::live_events {

/// Hands out events so that events with the same ordering key are taken one at a time in sequence
/// order, while events of different keys may be taken together. Not thread-safe.
class key_scheduler {
public:
    /// Adds event `sequence` under `ordering_key`; an empty key gives the event a key of its own.
    /// Returns true when a key became ready to take.
    bool add(std::uint64_t sequence, std::string_view ordering_key);

    /// Takes the oldest event of the longest-waiting ready key, or nullopt when no key is ready.
    /// The key stays taken until release().
    std::optional<std::pair<std::string, std::uint64_t>> take();

    /// Ends the taken key's head event. Returns true when the key has more events and is ready again.
    bool release(std::string const& key);

    /// Returns the number of keys ready to take.
    std::size_t ready_count() const noexcept { return ready_.size(); }

    /// Returns true when no event is queued or taken.
    bool empty() const noexcept { return queues_.empty(); }

private:
    std::unordered_map<std::string, std::deque<std::uint64_t>> queues_;
    std::unordered_set<std::string> taken_;
    std::deque<std::string> ready_;
};

} // namespace ocean::live_events
