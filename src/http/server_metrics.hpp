// Request counters and latency histogram of the HTTP server, rendered in Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace ocean::http {

class server_metrics {
public:
    /// Upper bounds of the latency histogram buckets, in seconds.
    static constexpr std::array<double, 10> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};

    /// Counts one answered request; `route` is the matched pattern, empty when nothing matched.
    void record(std::string_view route, unsigned status, std::chrono::nanoseconds latency);

    /// Renders every metric; `open_connections` is the current gauge value.
    std::string render(std::size_t open_connections) const;

    std::atomic<std::uint64_t> connections_total{0};
    std::atomic<std::uint64_t> rejected_connections{0};
    std::atomic<std::uint64_t> tls_handshake_failures{0};
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};

private:
    mutable std::mutex mutex_;
    // Transparent, so counting a request looks its key up without building a std::string.
    struct key_less {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(A const& a, B const& b) const noexcept
        {
            return std::pair<std::string_view, unsigned>(a.first, a.second) <
                   std::pair<std::string_view, unsigned>(b.first, b.second);
        }
    };
    std::map<std::pair<std::string, unsigned>, std::uint64_t, key_less> requests_;
    std::array<std::uint64_t, bounds.size()> buckets_{};
    std::uint64_t latency_count_ = 0;
    double latency_sum_ = 0;
};

} // namespace ocean::http
