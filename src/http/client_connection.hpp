// One HTTP/1.1 connection of ocean::http::client, over TCP or TLS, and the I/O on it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace ocean::http::detail {

/// Scheme, host and port of a URL: the unit of connection reuse and rate-limit tracking.
struct origin {
    bool tls = false;
    /// Host name or IP address, IPv6 without brackets.
    std::string host;
    std::string port;

    /// Returns "https://host:port" (IPv6 in brackets), used as pool and pacer key and in logs.
    std::string key() const;
};

/// An open connection. The read buffer lives with it, because bytes read past one response
/// belong to the next one on the same connection.
class connection {
public:
    using tcp_stream = boost::beast::tcp_stream;
    using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

    explicit connection(boost::asio::any_io_executor executor);
    connection(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls_context);

    bool is_tls() const noexcept { return tls_ != nullptr; }
    tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    tls_stream& tls() noexcept { return *tls_; }
    boost::beast::flat_buffer& buffer() noexcept { return buffer_; }

    /// Returns true when an idle connection can no longer carry a request because the peer
    /// closed it or sent unrequested bytes, a TLS close_notify included. Does not block.
    bool is_stale();

    /// Closes the socket without a TLS shutdown and ignores errors, so it never waits for the peer.
    void close() noexcept;

private:
    std::unique_ptr<tcp_stream> plain_;
    std::unique_ptr<tls_stream> tls_;
    boost::beast::flat_buffer buffer_;
};

/// Settings of opening a connection.
struct connect_settings {
    boost::asio::ssl::context* tls_context = nullptr;
    bool verify_peer = true;
    /// Limit for resolving, connecting and the TLS handshake together; zero disables it.
    std::chrono::milliseconds timeout{0};
};

/// Resolves, connects and (for TLS) handshakes with SNI and host name verification.
/// Errors: ocean::error::timeout past the timeout, resolver, socket and asio::ssl errors,
/// asio::error::operation_aborted when the coroutine's cancellation slot fires.
boost::asio::awaitable<boost::system::error_code> async_open(connection& conn, origin const& target,
                                                             connect_settings const& settings);

/// The outcome of writing one request and reading its response.
struct exchange_result {
    boost::system::error_code error;
    /// Whether any byte of a response arrived; a failure before that point on a reused
    /// connection usually means the server had already closed it.
    bool got_response_bytes = false;
    boost::beast::http::response<boost::beast::http::string_body> response;
    /// Whether the connection may carry another request.
    bool reusable = false;
};

/// Settings of one exchange.
struct exchange_settings {
    /// Limit for writing the request and reading the whole response; zero disables it.
    std::chrono::milliseconds timeout{0};
    std::size_t body_limit = 0;
};

/// Writes `request` and reads the final response, skipping 1xx interim responses.
/// Errors: ocean::error::timeout past the timeout, socket, TLS and Beast HTTP errors (for
/// example http::error::partial_message on an EOF inside the body, or body_limit),
/// asio::error::operation_aborted when the coroutine's cancellation slot fires.
boost::asio::awaitable<exchange_result>
async_exchange(connection& conn, boost::beast::http::request<boost::beast::http::string_body> const& request,
               exchange_settings const& settings);

} // namespace ocean::http::detail
