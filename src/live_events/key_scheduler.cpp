#include <ocean/live_events/key_scheduler.hpp>

namespace ocean::live_events {

bool key_scheduler::add(std::uint64_t sequence, std::string_view ordering_key)
{
    // Prefixes keep an event's own key apart from any ordering key a processor returns.
    auto key = ordering_key.empty() ? "#" + std::to_string(sequence) : "k:" + std::string(ordering_key);
    auto& queue = queues_[key];
    bool const is_taken = taken_.contains(key);

    // Keep the queue in sequence order even when deliveries are added out of order (several group
    // commits can wake their deliveries in any order). A taken key's head is being processed and
    // stays first.
    auto const first_movable = is_taken && !queue.empty() ? queue.begin() + 1 : queue.begin();
    auto position = queue.end();
    while (position != first_movable && *(position - 1) > sequence)
        --position;
    queue.insert(position, sequence);

    if (is_taken || queue.size() != 1)
        return false;
    ready_.push_back(std::move(key));
    return true;
}

std::optional<std::pair<std::string, std::uint64_t>> key_scheduler::take()
{
    if (ready_.empty())
        return std::nullopt;
    auto key = std::move(ready_.front());
    ready_.pop_front();
    taken_.insert(key);
    auto const sequence = queues_.at(key).front();
    return std::make_pair(std::move(key), sequence);
}

bool key_scheduler::release(std::string const& key)
{
    if (taken_.erase(key) == 0)
        return false;
    auto it = queues_.find(key);
    if (it == queues_.end())
        return false;
    it->second.pop_front();
    if (it->second.empty()) {
        queues_.erase(it);
        return false;
    }
    ready_.push_back(key);
    return true;
}

} // namespace ocean::live_events
