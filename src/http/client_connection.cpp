#include "http/client_connection.hpp"

#include <ocean/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/http/parser.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>

namespace ocean::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Response headers larger than this are rejected. Beast's default of 8 KiB is too small for
// some APIs that send long Link or Set-Cookie headers.
constexpr std::uint32_t max_response_header_bytes = 64 * 1024;

bool is_ip_address(std::string const& host)
{
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// Maps a Beast stream timeout to the SDK's code, leaving every other error as it is.
error_code normalize(error_code ec)
{
    if (ec == beast::error::timeout)
        return make_error_code(error::timeout);
    return ec;
}

// Returns operation_aborted once the running coroutine's cancellation slot has fired, so a
// cancelled operation reports cancellation even when the interrupted I/O failed differently
// (for example a TLS read that fails because its socket was closed).
asio::awaitable<error_code> cancelled_or(error_code ec)
{
    auto const state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
        co_return make_error_code(asio::error::operation_aborted);
    co_return ec;
}

// Sets the deadline of every following operation on `stream`, or clears it for a zero limit.
void arm_deadline(beast::tcp_stream& stream, std::chrono::milliseconds limit)
{
    if (limit > std::chrono::milliseconds{0})
        stream.expires_after(limit);
    else
        stream.expires_never();
}

// Resolves `target`, bounded by `limit`. The resolver supports no per-operation cancellation, so
// both the deadline and the coroutine's cancellation slot call resolver.cancel().
asio::awaitable<std::pair<error_code, asio::ip::tcp::resolver::results_type>>
resolve(origin const& target, std::chrono::milliseconds limit)
{
    auto executor = co_await asio::this_coro::executor;
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);

    // An IP literal needs no DNS. The synchronous numeric lookup returns at once and, unlike
    // async_resolve, does not start Asio's internal resolver thread, so an application that only
    // talks to addresses (Port on a private IP, loopback in tests) gets no thread from the SDK.
    error_code literal_error;
    asio::ip::make_address(target.host, literal_error);
    if (!literal_error) {
        error_code ec;
        auto results = resolver->resolve(target.host, target.port,
                                         asio::ip::resolver_base::numeric_host | asio::ip::resolver_base::numeric_service,
                                         ec);
        co_return std::pair{ec, std::move(results)};
    }

    auto timed_out = std::make_shared<bool>(false);

    asio::steady_timer deadline(executor);
    if (limit > std::chrono::milliseconds{0}) {
        deadline.expires_after(limit);
        deadline.async_wait([resolver, timed_out](error_code ec) {
            if (!ec) {
                *timed_out = true;
                resolver->cancel();
            }
        });
    }

    auto slot = (co_await asio::this_coro::cancellation_state).slot();
    if (slot.is_connected())
        slot.assign([resolver](asio::cancellation_type) { resolver->cancel(); });

    auto [ec, results] = co_await resolver->async_resolve(target.host, target.port, use_tuple);

    if (slot.is_connected())
        slot.clear();
    deadline.cancel();
    if (*timed_out)
        ec = make_error_code(error::timeout);
    co_return std::pair{ec, std::move(results)};
}

} // namespace

std::string origin::key() const
{
    std::string out = tls ? "https://" : "http://";
    bool const bracket = host.find(':') != std::string::npos;
    if (bracket)
        out += '[';
    out += host;
    if (bracket)
        out += ']';
    out += ':';
    out += port;
    return out;
}

connection::connection(asio::any_io_executor executor) : plain_(std::make_unique<tcp_stream>(std::move(executor))) {}

connection::connection(asio::any_io_executor executor, asio::ssl::context& tls_context)
    : tls_(std::make_unique<tls_stream>(std::move(executor), tls_context))
{
}

bool connection::is_stale()
{
    if (buffer_.size() > 0)
        return true;
    auto& socket = tcp().socket();
    if (!socket.is_open())
        return true;
    char probe = 0;
    auto const received = ::recv(socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (received > 0 || received == 0)  // unsolicited bytes, or the peer's FIN
        return true;
    return errno != EAGAIN && errno != EWOULDBLOCK;
}

void connection::close() noexcept
{
    error_code ignored;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
}

asio::awaitable<error_code> async_open(connection& conn, origin const& target, connect_settings const& settings)
{
    auto const started = std::chrono::steady_clock::now();
    auto [resolve_error, endpoints] = co_await resolve(target, settings.timeout);
    if (resolve_error)
        co_return co_await cancelled_or(resolve_error);

    // The rest of the connect timeout covers the TCP connect and the TLS handshake.
    auto remaining = settings.timeout;
    if (settings.timeout > std::chrono::milliseconds{0}) {
        remaining -= std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        if (remaining <= std::chrono::milliseconds{0})
            co_return make_error_code(error::timeout);
    }
    arm_deadline(conn.tcp(), remaining);

    auto [connect_error, endpoint] = co_await conn.tcp().async_connect(endpoints, use_tuple);
    if (connect_error)
        co_return co_await cancelled_or(normalize(connect_error));
    conn.tcp().socket().set_option(asio::ip::tcp::no_delay(true), connect_error);

    if (conn.is_tls()) {
        auto& stream = conn.tls();
        // RFC 6066 allows only host names in SNI, never IP literals.
        if (!is_ip_address(target.host) && !SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str()))
            co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        if (settings.verify_peer) {
            stream.set_verify_mode(asio::ssl::verify_peer);
            stream.set_verify_callback(asio::ssl::host_name_verification(target.host));
        }
        else {
            stream.set_verify_mode(asio::ssl::verify_none);
        }
        auto [handshake_error] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
        if (handshake_error)
            co_return co_await cancelled_or(normalize(handshake_error));
    }

    conn.tcp().expires_never();
    co_return error_code{};
}

namespace {

template <class Stream>
asio::awaitable<exchange_result> exchange_on(Stream& stream, connection& conn,
                                             beast::http::request<beast::http::string_body> const& request,
                                             exchange_settings const& settings)
{
    exchange_result result;
    arm_deadline(conn.tcp(), settings.timeout);

    auto [write_error, written] = co_await beast::http::async_write(stream, request, use_tuple);
    if (write_error) {
        result.error = co_await cancelled_or(normalize(write_error));
        co_return result;
    }

    // A server may send any number of 1xx interim responses before the final one; 101 never
    // comes because the client does not ask for an upgrade.
    for (;;) {
        beast::http::response_parser<beast::http::string_body> parser;
        parser.body_limit(settings.body_limit);
        parser.header_limit(max_response_header_bytes);
        if (request.method() == beast::http::verb::head)
            parser.skip(true);

        auto [read_error, read] = co_await beast::http::async_read(stream, conn.buffer(), parser, use_tuple);
        result.got_response_bytes = result.got_response_bytes || parser.got_some();
        if (read_error) {
            result.error = co_await cancelled_or(normalize(read_error));
            co_return result;
        }

        auto const status = parser.get().result_int();
        if (status >= 100 && status < 200)
            continue;

        result.reusable = parser.keep_alive() && !parser.need_eof() && request.keep_alive();
        result.response = parser.release();
        break;
    }

    conn.tcp().expires_never();
    co_return result;
}

} // namespace

asio::awaitable<exchange_result> async_exchange(connection& conn,
                                                beast::http::request<beast::http::string_body> const& request,
                                                exchange_settings const& settings)
{
    if (conn.is_tls())
        co_return co_await exchange_on(conn.tls(), conn, request, settings);
    co_return co_await exchange_on(conn.tcp(), conn, request, settings);
}

} // namespace ocean::http::detail
