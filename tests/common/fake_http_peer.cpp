#include "common/fake_http_peer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <deque>
#include <mutex>
#include <set>

namespace ocean::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}

scripted_reply scripted_reply::ok(std::string body)
{
    return with_status(200, std::move(body));
}

scripted_reply scripted_reply::with_status(unsigned status, std::string body)
{
    scripted_reply reply;
    reply.status = status;
    reply.body = std::move(body);
    return reply;
}

scripted_reply scripted_reply::hang()
{
    scripted_reply reply;
    reply.action = kind::hang;
    return reply;
}

scripted_reply scripted_reply::reset_mid_body()
{
    scripted_reply reply;
    reply.action = kind::reset_mid_body;
    return reply;
}

scripted_reply scripted_reply::close_without_reply()
{
    scripted_reply reply;
    reply.action = kind::close_without_reply;
    return reply;
}

scripted_reply& scripted_reply::header(std::string name, std::string value)
{
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
}

namespace fake_peer_detail {

// The peer's state, shared with its sessions so that they may outlive the peer object.
struct shared_state {
    explicit shared_state(asio::any_io_executor ex) : executor(ex), acceptor(ex) {}

    scripted_reply next_reply()
    {
        std::lock_guard lock(mutex);
        if (script.empty())
            return scripted_reply::ok();
        auto reply = std::move(script.front());
        script.pop_front();
        return reply;
    }

    void record(received_request request)
    {
        std::lock_guard lock(mutex);
        received.push_back(std::move(request));
    }

    asio::any_io_executor executor;
    tcp::acceptor acceptor;
    std::optional<asio::ssl::context> tls_context;
    unsigned short port = 0;

    mutable std::mutex mutex;  // guards everything below
    std::deque<scripted_reply> script;
    std::vector<received_request> received;
    std::size_t accepted = 0;
    std::set<tcp::socket*> open_sockets;
    bool stopped = false;
};

} // namespace fake_peer_detail

struct fake_http_peer::state : fake_peer_detail::shared_state {
    using shared_state::shared_state;
};

namespace {

using peer_state = std::shared_ptr<fake_peer_detail::shared_state>;

// Keeps a session's socket in the peer's set while the session runs, so stop() can close it.
class socket_registration {
public:
    socket_registration(peer_state peer, tcp::socket& socket) : peer_(std::move(peer)), socket_(&socket)
    {
        std::lock_guard lock(peer_->mutex);
        peer_->open_sockets.insert(socket_);
    }
    ~socket_registration()
    {
        std::lock_guard lock(peer_->mutex);
        peer_->open_sockets.erase(socket_);
    }
    socket_registration(socket_registration const&) = delete;
    socket_registration& operator=(socket_registration const&) = delete;

private:
    peer_state peer_;
    tcp::socket* socket_;
};

tcp::socket& lowest_socket(tcp::socket& socket)
{
    return socket;
}

tcp::socket& lowest_socket(asio::ssl::stream<tcp::socket>& stream)
{
    return stream.next_layer();
}

// Resets the connection: a zero linger time makes close() send RST instead of FIN.
void reset(tcp::socket& socket)
{
    error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

template <class Stream>
asio::awaitable<void> serve(peer_state peer, Stream& stream, std::size_t connection_number)
{
    beast::flat_buffer buffer;
    for (;;) {
        beast::http::request<beast::http::string_body> request;
        auto [read_error, read] = co_await beast::http::async_read(stream, buffer, request, use_tuple);
        if (read_error)
            co_return;

        received_request seen;
        seen.method = std::string(request.method_string());
        seen.target = std::string(request.target());
        for (auto const& field : request)
            seen.headers.add(field.name_string(), field.value());
        seen.body = request.body();
        seen.connection = connection_number;
        seen.received_at = std::chrono::steady_clock::now();
        peer->record(std::move(seen));

        auto reply = peer->next_reply();
        if (reply.delay > std::chrono::milliseconds{0}) {
            asio::steady_timer timer(peer->executor, reply.delay);
            co_await timer.async_wait(use_tuple);
        }

        switch (reply.action) {
        case scripted_reply::kind::hang: {
            // Reading again returns only when the client gives up and closes the connection.
            beast::http::request<beast::http::string_body> ignored;
            co_await beast::http::async_read(stream, buffer, ignored, use_tuple);
            co_return;
        }
        case scripted_reply::kind::close_without_reply:
            lowest_socket(stream).close();
            co_return;
        case scripted_reply::kind::reset_mid_body: {
            std::string const partial = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of the body";
            co_await asio::async_write(stream, asio::buffer(partial), use_tuple);
            reset(lowest_socket(stream));
            co_return;
        }
        case scripted_reply::kind::respond:
            break;
        }

        beast::http::response<beast::http::string_body> response;
        response.version(11);
        response.result(reply.status);
        for (auto const& [name, value] : reply.headers)
            response.insert(name, value);
        response.body() = reply.body;
        response.keep_alive(request.keep_alive() && !reply.close_after);
        response.prepare_payload();
        if (request.method() == beast::http::verb::head)
            response.body().clear();  // Content-Length still describes the body a GET would get
        auto [write_error, written] = co_await beast::http::async_write(stream, response, use_tuple);
        if (write_error || !response.keep_alive()) {
            error_code ignored;
            lowest_socket(stream).shutdown(tcp::socket::shutdown_both, ignored);
            lowest_socket(stream).close(ignored);
            co_return;
        }
    }
}

asio::awaitable<void> run_session(peer_state peer, tcp::socket socket, std::size_t connection_number)
{
    if (!peer->tls_context) {
        socket_registration registration(peer, socket);
        co_await serve(peer, socket, connection_number);
        co_return;
    }

    asio::ssl::stream<tcp::socket> stream(std::move(socket), *peer->tls_context);
    socket_registration registration(peer, stream.next_layer());
    auto [handshake_error] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (handshake_error)
        co_return;
    co_await serve(peer, stream, connection_number);
}

asio::awaitable<void> accept_loop(peer_state peer)
{
    for (;;) {
        auto [ec, socket] = co_await peer->acceptor.async_accept(use_tuple);
        if (ec)
            co_return;
        std::size_t number = 0;
        {
            std::lock_guard lock(peer->mutex);
            if (peer->stopped)
                co_return;
            number = ++peer->accepted;
        }
        asio::co_spawn(peer->executor, run_session(peer, std::move(socket), number), asio::detached);
    }
}

} // namespace

fake_http_peer::fake_http_peer(asio::any_io_executor executor, std::optional<tls_files> tls, unsigned short port)
    : state_(std::make_shared<state>(executor))
{
    if (tls) {
        state_->tls_context.emplace(asio::ssl::context::tls_server);
        state_->tls_context->use_certificate_chain_file(tls->certificate);
        state_->tls_context->use_private_key_file(tls->private_key, asio::ssl::context::pem);
    }
    tcp::endpoint const loopback(asio::ip::make_address("127.0.0.1"), port);
    state_->acceptor.open(loopback.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(loopback);
    state_->acceptor.listen();
    state_->port = state_->acceptor.local_endpoint().port();
    asio::co_spawn(executor, accept_loop(peer_state(state_)), asio::detached);
}

fake_http_peer::~fake_http_peer()
{
    stop();
}

void fake_http_peer::script(std::vector<scripted_reply> replies)
{
    std::lock_guard lock(state_->mutex);
    for (auto& reply : replies)
        state_->script.push_back(std::move(reply));
}

unsigned short fake_http_peer::port() const
{
    return state_->port;
}

std::string fake_http_peer::url(std::string_view path) const
{
    std::string out = state_->tls_context ? "https://127.0.0.1:" : "http://127.0.0.1:";
    out += std::to_string(state_->port);
    out += path;
    return out;
}

std::vector<received_request> fake_http_peer::requests() const
{
    std::lock_guard lock(state_->mutex);
    return state_->received;
}

std::size_t fake_http_peer::connections() const
{
    std::lock_guard lock(state_->mutex);
    return state_->accepted;
}

void fake_http_peer::stop()
{
    // Closing runs on the peer's executor: sockets are not thread-safe, and the io_context may
    // be running on another thread.
    asio::post(state_->executor, [peer = peer_state(state_)] {
        error_code ignored;
        peer->acceptor.close(ignored);
        std::lock_guard lock(peer->mutex);
        peer->stopped = true;
        for (auto* socket : peer->open_sockets)
            socket->close(ignored);
    });
}

} // namespace ocean::test
