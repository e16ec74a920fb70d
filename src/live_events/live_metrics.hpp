// Counters of the live-events pipeline, rendered in Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace ocean::live_events {

class live_metrics {
public:
    /// Upper bounds of the accept-to-applied histogram buckets, in seconds.
    static constexpr std::array<double, 12> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    void rejected(std::string const& reason);
    void applied(std::chrono::nanoseconds accept_to_applied);
    std::string render() const;

    std::atomic<std::uint64_t> inbox_depth{0};
    std::atomic<std::uint64_t> dead_letters{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> port_write_batches{0};
    std::atomic<std::uint64_t> port_write_failures{0};
    std::atomic<std::uint64_t> group_commits{0};

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::uint64_t> rejected_;
    std::array<std::uint64_t, bounds.size()> buckets_{};
    std::uint64_t applied_count_ = 0;
    double applied_seconds_ = 0;
};

} // namespace ocean::live_events
