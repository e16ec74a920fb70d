// The integration's HTTP/1.1 server: Beast sessions, coroutine handlers, JSON errors.
#pragma once

#include <ocean/detail/async.hpp>
#include <ocean/http/router.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace ocean::http {

/// PEM files for serving HTTPS.
struct tls_config {
    /// The server certificate, optionally followed by its intermediate CA certificates.
    std::string cert_file;
    /// The private key of the certificate, unencrypted.
    std::string key_file;
};

/// Server limits and timeouts. Zero durations disable a timeout.
struct server_config {
    std::string host = "0.0.0.0";
    /// 0 picks a free port; local_endpoint() then tells which.
    std::uint16_t port = 8000;
    /// Largest accepted body, decided from Content-Length before reading it (413 past it).
    std::size_t body_limit = 25 * 1024 * 1024;
    /// Largest header block (431 past it).
    std::size_t header_limit = 32 * 1024;
    /// Longest request target (414 past it).
    std::size_t target_limit = 8 * 1024;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{60'000};
    std::chrono::milliseconds idle_timeout{75'000};
    /// The time stop() lets in-flight handlers finish before cancelling them.
    std::chrono::milliseconds drain_timeout{10'000};
    /// Connections past this number get 503 with Retry-After and are closed.
    std::size_t max_connections = 10'000;
    json_limits json;
    /// Runs each connection on its own strand, which makes the server correct when several
    /// threads run the io_context. Turn it off only when one thread runs it: every completion
    /// then skips the strand's dispatch.
    bool strand_per_connection = true;
    /// Serves HTTPS when cert_file and key_file are set: TLS 1.2 or later, no client
    /// certificates. The handshake must finish within header_timeout.
    tls_config tls;
    /// Serves HTTPS with this context instead, for settings that tls_config does not cover
    /// (ciphers, client certificates, keys from memory). The server shares it and does not modify it.
    std::shared_ptr<boost::asio::ssl::context> tls_context;
};

/// An HTTP/1.1 server on the caller's executor. It starts no threads.
class server {
public:
    /// Throws ocean::config_error when config.tls names only one file, a file cannot be loaded, or
    /// the key does not match the certificate.
    server(boost::asio::any_io_executor executor, server_config config);
    ~server();
    server(server const&) = delete;
    server& operator=(server const&) = delete;

    /// The route table; register routes before async_run.
    http::router& router() noexcept;

    /// Opens, binds and listens. Returns the error (naming nothing: the caller logs host:port).
    boost::system::error_code listen();

    /// The bound endpoint (after listen), with the real port when port 0 was requested.
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Marks the server ready or not; /health/ready responds 503 until ready.
    void set_ready(bool ready) noexcept;
    bool ready() const noexcept;

    /// Accepts and serves connections until stop(). Listens first if listen() was not called.
    /// Completion signature: void(error_code). Completes after stop() once in-flight handlers
    /// finished or the drain timeout cancelled them.
    template <class Token = default_token>
    auto async_run(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code)>(
            std::forward<Token>(token),
            [this](auto completion) { run_impl(std::move(completion)); });
    }

    /// Stops accepting, responds 503 to new requests on open connections, lets in-flight handlers
    /// finish up to drain_timeout, then cancels them. Safe to call from any thread, repeatedly.
    void stop();

    /// Number of open connections.
    std::size_t connection_count() const noexcept;

private:
    void run_impl(boost::asio::any_completion_handler<void(boost::system::error_code)> completion);

    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace ocean::http
