// The baseline of bench/ingest.sh: the smallest Beast coroutine server that reads a request and
// answers 200, on one io_context thread. Usage: bench_ingest_baseline [PORT]; 0 or none picks one.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> session(tcp::socket socket)
{
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> request;
        auto [read_error, n] = co_await http::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
        if (read_error)
            break;
        http::response<http::string_body> response{http::status::ok, request.version()};
        response.set(http::field::content_type, "application/json");
        response.body() = R"({"ok":true})";
        response.keep_alive(request.keep_alive());
        response.prepare_payload();
        auto [write_error, m] = co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
        if (write_error || !request.keep_alive())
            break;
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor acceptor)
{
    for (;;) {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
}

} // namespace

int main(int argc, char** argv)
{
    asio::io_context io(1);
    auto const port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
    auto const bound = acceptor.local_endpoint().port();
    asio::co_spawn(io, listen(std::move(acceptor)), asio::detached);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    std::cout << "listening on 127.0.0.1:" << bound << std::endl;
    io.run();
}
