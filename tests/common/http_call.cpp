#include "common/http_call.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <stdexcept>

#include <sys/socket.h>
#include <sys/time.h>

namespace ocean::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

// Beast's blocking calls have no deadline of their own, so the socket gets kernel send and
// receive timeouts instead. A blocked call then fails with EAGAIN.
void set_socket_timeouts(asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout)
{
    timeval value{};
    value.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    value.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value);
}

} // namespace

boost::json::value http_result::json() const
{
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec)
        throw std::runtime_error("response body is not JSON (" + ec.message() + "): '" + body + "'");
    return value;
}

http_result http_call(std::string const& host, std::uint16_t port, http_call_options const& options)
{
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    asio::ip::tcp::endpoint const endpoint(asio::ip::make_address(host), port);
    socket.connect(endpoint);
    set_socket_timeouts(socket, options.timeout);

    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(options.method), options.target, 11};
    if (request.method() == bhttp::verb::unknown)
        request.method_string(options.method);
    request.set(bhttp::field::host, host + ":" + std::to_string(port));
    for (auto const& [name, value] : options.headers)
        request.insert(name, value);
    if (!options.body.empty() && !options.headers.get("Content-Type"))
        request.set(bhttp::field::content_type, "application/json");
    request.body() = options.body;
    request.keep_alive(false);
    request.prepare_payload();
    bhttp::write(socket, request);

    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bhttp::read(socket, buffer, parser);

    auto message = parser.release();
    http_result result;
    result.status = message.result_int();
    for (auto const& field : message.base())
        result.headers.add(field.name_string(), field.value());
    result.body = std::move(message.body());

    boost::system::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return result;
}

} // namespace ocean::test
