// A general-purpose HTTP/1.1 client over TCP and TLS, used for Port and third-party APIs.
#pragma once

#include <ocean/detail/async.hpp>
#include <ocean/http/fields.hpp>
#include <ocean/retry.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ocean::http {

/// TLS and connection settings.
struct client_config {
    /// Verify the server certificate and host name (SNI is always sent). Turning this off logs a
    /// warning at construction.
    bool verify_peer = true;
    /// Extra CA bundle (PEM). The system store, SSL_CERT_FILE and SSL_CERT_DIR are always used.
    std::string ca_file;
    std::chrono::milliseconds connect_timeout{10'000};
    /// Limit for one attempt: writing the request and reading the whole response.
    std::chrono::milliseconds request_timeout{60'000};
    /// Idle keep-alive connections kept per host (scheme, host, port).
    std::size_t max_idle_per_host = 16;
    /// Largest response body accepted.
    std::size_t max_response_body = 64 * 1024 * 1024;
    /// Policy for network errors and 408/429/502/503/504 on retryable requests.
    retry_policy retry;
    /// Proactive pacing per host from `x-ratelimit-limit`, `x-ratelimit-remaining` and
    /// `x-ratelimit-reset`: once remaining, minus the requests still in flight, falls below this
    /// fraction of the limit, requests are spread evenly over the time until the reset. Zero
    /// disables pacing.
    double pacing_threshold = 0.1;
    /// Maximum wait that pacing adds before one request.
    std::chrono::milliseconds pacing_max_wait{30'000};
};

/// A request to send. `url` is absolute: `http://host:port/path?query` or `https://...`.
struct client_request {
    std::string method = "GET";
    std::string url;
    fields headers;
    std::string body;
    /// Retry on failure even though the method is not idempotent (e.g. an upsert POST).
    bool retryable = false;
    /// Overrides client_config::request_timeout when set.
    std::optional<std::chrono::milliseconds> timeout;
};

/// A response. Any HTTP status, 4xx and 5xx included, is a successful completion.
struct client_response {
    unsigned status = 0;
    fields headers;
    std::string body;
    /// Attempts it took, 1 when the first one succeeded.
    unsigned attempts = 1;

    std::optional<std::string_view> header(std::string_view name) const noexcept { return headers.get(name); }
};

/// The client. Thread-compatible: use one instance from one executor at a time, or give each
/// thread its own. Operations on one instance may overlap.
class client {
public:
    /// Throws ocean::config_error when config.ca_file cannot be loaded.
    client(boost::asio::any_io_executor executor, client_config config = {});
    ~client();
    client(client const&) = delete;
    client& operator=(client const&) = delete;

    /// Sends `request` and reads the response, retrying per the policy.
    /// Completion signature: void(error_code, client_response).
    /// Errors: ocean::error::invalid_url, ocean::error::timeout, network and TLS errors (a
    /// certificate failure is an asio::ssl error), asio::error::operation_aborted on cancellation.
    /// Per-operation cancellation: terminal, partial and total, at any point (also during a backoff).
    template <class Token = default_token>
    auto async_send(client_request request, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, client_response)>(
            std::forward<Token>(token),
            [this, r = std::move(request)](auto completion) mutable { send_impl(std::move(r), std::move(completion)); });
    }

    boost::asio::any_io_executor get_executor() const noexcept;
    client_config const& config() const noexcept;

private:
    void send_impl(client_request request,
                   boost::asio::any_completion_handler<void(boost::system::error_code, client_response)> handler);

    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace ocean::http
