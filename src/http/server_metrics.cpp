#include "http/server_metrics.hpp"

#include <fmt/format.h>

namespace ocean::http {

void server_metrics::record(std::string_view route, unsigned status, std::chrono::nanoseconds latency)
{
    double const seconds = std::chrono::duration<double>(latency).count();
    auto const key = std::pair<std::string_view, unsigned>(route.empty() ? "unmatched" : route, status);
    std::lock_guard lock(mutex_);
    if (auto it = requests_.find(key); it != requests_.end())
        ++it->second;
    else
        requests_.emplace(std::pair<std::string, unsigned>(key.first, status), 1);
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (seconds <= bounds[i])
            ++buckets_[i];
    ++latency_count_;
    latency_sum_ += seconds;
}

std::string server_metrics::render(std::size_t open_connections) const
{
    std::string out;
    out += "# HELP ocean_http_requests_total HTTP requests answered, by route pattern and status.\n";
    out += "# TYPE ocean_http_requests_total counter\n";
    std::lock_guard lock(mutex_);
    for (auto const& [key, count] : requests_)
        out += fmt::format("ocean_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, count);

    out += "# HELP ocean_http_request_duration_seconds Time from request headers read to response ready.\n";
    out += "# TYPE ocean_http_request_duration_seconds histogram\n";
    for (std::size_t i = 0; i < bounds.size(); ++i)
        out += fmt::format("ocean_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", bounds[i], buckets_[i]);
    out += fmt::format("ocean_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", latency_count_);
    out += fmt::format("ocean_http_request_duration_seconds_sum {}\n", latency_sum_);
    out += fmt::format("ocean_http_request_duration_seconds_count {}\n", latency_count_);

    out += "# HELP ocean_http_connections Open connections.\n# TYPE ocean_http_connections gauge\n";
    out += fmt::format("ocean_http_connections {}\n", open_connections);
    out += "# HELP ocean_http_connections_total Connections accepted.\n# TYPE ocean_http_connections_total counter\n";
    out += fmt::format("ocean_http_connections_total {}\n", connections_total.load());
    out += "# HELP ocean_http_connections_rejected_total Connections refused over the limit.\n";
    out += "# TYPE ocean_http_connections_rejected_total counter\n";
    out += fmt::format("ocean_http_connections_rejected_total {}\n", rejected_connections.load());
    out += "# HELP ocean_http_tls_handshake_failures_total TLS handshakes that failed or timed out.\n";
    out += "# TYPE ocean_http_tls_handshake_failures_total counter\n";
    out += fmt::format("ocean_http_tls_handshake_failures_total {}\n", tls_handshake_failures.load());
    out += "# HELP ocean_http_received_bytes_total Request bytes read.\n# TYPE ocean_http_received_bytes_total counter\n";
    out += fmt::format("ocean_http_received_bytes_total {}\n", bytes_in.load());
    out += "# HELP ocean_http_sent_bytes_total Response body bytes written.\n# TYPE ocean_http_sent_bytes_total counter\n";
    out += fmt::format("ocean_http_sent_bytes_total {}\n", bytes_out.load());
    return out;
}

} // namespace ocean::http
