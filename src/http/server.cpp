#include <ocean/http/server.hpp>
#include <ocean/error.hpp>

#include "http/request_parser.hpp"
#include "http/response_head.hpp"
#include "http/server_metrics.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <list>
#include <mutex>
#include <random>
#include <span>

namespace ocean::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using strand_type = asio::strand<asio::any_io_executor>;
using clock_type = std::chrono::steady_clock;
using tls_stream = beast::ssl_stream<tcp::socket>;

// How long a session waits for the client's close_notify after sending its own. The alert lets
// the client tell a complete response from a truncated one. A client that does not send its own
// within this time gets the socket closed.
constexpr std::chrono::milliseconds tls_shutdown_timeout{1'000};

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string make_request_id()
{
    thread_local std::mt19937_64 engine{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    std::string id(32, '0');
    auto a = engine();
    auto b = engine();
    for (int i = 0; i < 16; ++i) {
        id[i] = digits[(a >> (i * 4)) & 0xF];
        id[16 + i] = digits[(b >> (i * 4)) & 0xF];
    }
    return id;
}

// A client-supplied X-Request-ID is echoed only when it is short and printable, so a log line
// cannot be forged or blown up through it.
bool acceptable_request_id(std::string_view id)
{
    if (id.empty() || id.size() > 128)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// Creates the server's TLS context from PEM files. Throws config_error naming the setting.
std::shared_ptr<asio::ssl::context> make_tls_context(tls_config const& tls)
{
    if (tls.cert_file.empty() != tls.key_file.empty())
        throw config_error(std::string("server_config.tls: ") +
                           (tls.cert_file.empty() ? "key_file is set but cert_file is missing"
                                                  : "cert_file is set but key_file is missing") +
                           "; set both to serve HTTPS, or neither");

    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);

    boost::system::error_code ec;
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec)
        throw config_error("server_config.tls.cert_file: cannot load the certificate chain '" + tls.cert_file +
                           "': " + ec.message());
    // OpenSSL also checks here that the key belongs to the certificate loaded above.
    context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec)
        throw config_error("server_config.tls.key_file: cannot load the private key '" + tls.key_file +
                           "' or it does not match the certificate: " + ec.message());
    return context;
}

} // namespace

// One accepted connection. Its coroutines run on `strand`; stop() reaches it by posting there.
// The stream lives in stream_session; this part is what the watchdog and stop() need.
struct session {
    explicit session(asio::any_io_executor executor) : strand(std::move(executor)), watchdog(strand) {}

    // The connection's strand, or the plain executor when server_config::strand_per_connection is off.
    asio::any_io_executor strand;
    // The TCP socket under the stream; cancelling it ends any read, write or TLS operation.
    tcp::socket* socket = nullptr;
    // The watchdog coroutine cancels the socket's operations once `deadline` passes. Moving the
    // deadline later is a plain store, so a request costs no timer operation in the common case.
    asio::steady_timer watchdog;
    clock_type::time_point deadline = clock_type::time_point::max();
    bool timed_out = false;
    bool finished = false;
    // True from the end of a request's header until its response is written; stop() closes the
    // other connections at once and lets busy ones finish.
    bool busy = false;
    bool closing = false;
    asio::cancellation_signal handler_cancel;
    // The response being written: its head (whose capacity serves the next response too), its
    // body and the gather list over both.
    std::string head;
    std::string body;
    std::array<asio::const_buffer, 2> buffers;
};

// A session over a plain TCP socket or a TLS stream. The request loop is a template on the
// stream, so the plain path carries no TLS branch at run time.
template <class Stream>
struct stream_session : session {
    explicit stream_session(tcp::socket s) : session(s.get_executor()), stream(std::move(s))
    {
        socket = &beast::get_lowest_layer(stream);
    }

    stream_session(tcp::socket s, asio::ssl::context& context)
        : session(s.get_executor()), stream(std::move(s), context)
    {
        socket = &beast::get_lowest_layer(stream);
    }

    Stream stream;
};

struct server::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, server_config cfg)
        : executor(ex), strand(asio::make_strand(ex)), config(std::move(cfg)), acceptor(strand), drained(strand),
          drain_deadline(strand)
    {
        tls_context = config.tls_context;
        if (!tls_context && (!config.tls.cert_file.empty() || !config.tls.key_file.empty()))
            tls_context = make_tls_context(config.tls);
    }

    asio::any_io_executor executor;
    strand_type strand;
    server_config config;
    http::router routes;
    tcp::acceptor acceptor;
    asio::steady_timer drained;
    asio::steady_timer drain_deadline;
    std::atomic<bool> ready{false};
    std::atomic<bool> stopping{false};
    std::atomic<std::size_t> connections{0};
    std::mutex sessions_mutex;
    std::list<std::weak_ptr<session>> sessions;
    server_metrics metrics;
    // Set when the server speaks HTTPS.
    std::shared_ptr<asio::ssl::context> tls_context;

    void begin_stop();
    void session_ended();
    asio::awaitable<void> accept_loop();
    void start_session(tcp::socket socket);
    template <class Stream>
    asio::awaitable<void> run_session(std::shared_ptr<stream_session<Stream>> s);
    asio::awaitable<bool> handshake(stream_session<tls_stream>& s);
    asio::awaitable<response> dispatch(request& req, match_result const& match);
    asio::awaitable<void> reject_connection(tcp::socket socket);
};

namespace {

// Starts the time limit of the next socket operation; zero means no limit.
void arm(session& s, std::chrono::milliseconds limit)
{
    s.timed_out = false;
    s.deadline = limit.count() > 0 ? clock_type::now() + limit : clock_type::time_point::max();
    // The watchdog sleeps until its current expiry; wake it only when the new deadline is earlier.
    if (s.deadline < s.watchdog.expiry())
        s.watchdog.cancel();
}

void disarm(session& s)
{
    s.deadline = clock_type::time_point::max();
}

asio::awaitable<void> watch(std::shared_ptr<session> s)
{
    while (!s->finished) {
        s->watchdog.expires_at(s->deadline);
        co_await s->watchdog.async_wait(use_tuple);
        if (s->finished)
            break;
        if (clock_type::now() >= s->deadline) {
            s->timed_out = true;
            s->deadline = clock_type::time_point::max();
            boost::system::error_code ignored;
            s->socket->cancel(ignored);
        }
    }
}

} // namespace

void server::impl::session_ended()
{
    if (--connections == 0 && stopping)
        asio::post(strand, [self = shared_from_this()] { self->drained.cancel(); });
}

void server::impl::begin_stop()
{
    if (stopping.exchange(true))
        return;
    spdlog::info("http server stopping: {} open connections, drain timeout {} ms", connections.load(),
                 config.drain_timeout.count());
    boost::system::error_code ignored;
    acceptor.close(ignored);

    std::vector<std::shared_ptr<session>> open;
    {
        std::lock_guard lock(sessions_mutex);
        for (auto const& weak : sessions)
            if (auto s = weak.lock())
                open.push_back(std::move(s));
    }
    for (auto& s : open) {
        asio::post(s->strand, [s] {
            s->closing = true;
            if (!s->busy) {
                boost::system::error_code ec;
                s->socket->cancel(ec);
            }
        });
    }

    drain_deadline.expires_after(config.drain_timeout);
    drain_deadline.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec)
            return;
        std::lock_guard lock(self->sessions_mutex);
        for (auto const& weak : self->sessions) {
            if (auto s = weak.lock()) {
                asio::post(s->strand, [s] {
                    s->handler_cancel.emit(asio::cancellation_type::terminal);
                    boost::system::error_code cancel_error;
                    s->socket->cancel(cancel_error);
                });
            }
        }
    });
    // With no connection open there is nothing to drain. The deadline's pending wait would
    // otherwise keep the io_context busy for drain_timeout, even when async_run never started.
    if (connections == 0) {
        drained.cancel();
        drain_deadline.cancel();
    }
}

asio::awaitable<void> server::impl::reject_connection(tcp::socket socket)
{
    auto r = response::error(503, "too_many_connections",
                             "the server has " + std::to_string(config.max_connections) +
                                 " open connections, its limit; retry later");
    r.headers.set("Retry-After", "1");
    std::string head;
    detail::format_response_head(head, r, 11, false, make_request_id());
    std::array<asio::const_buffer, 2> const buffers{asio::buffer(head), asio::buffer(r.body)};
    co_await asio::async_write(socket, buffers, use_tuple);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> server::impl::accept_loop()
{
    auto self = shared_from_this();
    while (!stopping) {
        asio::any_io_executor connection_executor = executor;
        if (config.strand_per_connection)
            connection_executor = asio::make_strand(executor);
        auto [ec, socket] = co_await acceptor.async_accept(connection_executor, use_tuple);
        if (ec) {
            if (stopping || ec == asio::error::operation_aborted)
                break;
            spdlog::warn("http server: accept failed: {}", ec.message());
            // Out of file descriptors and similar errors clear up as connections close.
            asio::steady_timer pause(strand, std::chrono::milliseconds(50));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (connections.load() >= config.max_connections) {
            metrics.rejected_connections++;
            if (tls_context) {
                // A plain-text 503 means nothing to a TLS client, and a handshake would spend
                // the CPU time the limit is there to save.
                boost::system::error_code ignored;
                socket.close(ignored);
                continue;
            }
            // The executor is read before the move: function arguments have no evaluation order.
            auto const socket_executor = socket.get_executor();
            asio::co_spawn(socket_executor, reject_connection(std::move(socket)), asio::detached);
            continue;
        }

        ++connections;
        metrics.connections_total++;
        start_session(std::move(socket));
    }

    while (connections.load() > 0) {
        drained.expires_after(std::chrono::hours(1));
        co_await drained.async_wait(use_tuple);
    }
    drain_deadline.cancel();
}

void server::impl::start_session(tcp::socket socket)
{
    auto launch = [this](auto s) {
        {
            std::lock_guard lock(sessions_mutex);
            std::erase_if(sessions, [](auto const& weak) { return weak.expired(); });
            sessions.push_back(s);
        }
        asio::co_spawn(s->strand, watch(s), asio::detached);
        // The drain deadline of stop() emits on handler_cancel, which reaches whatever the session
        // awaits at that moment, the handler included.
        asio::co_spawn(s->strand, run_session(s),
                       asio::bind_cancellation_slot(s->handler_cancel.slot(),
                                                    [self = shared_from_this(), s](std::exception_ptr error) {
                                                        if (error) {
                                                            try {
                                                                std::rethrow_exception(error);
                                                            } catch (std::exception const& e) {
                                                                spdlog::error("http session ended with an exception: {}",
                                                                              e.what());
                                                            }
                                                        }
                                                        s->finished = true;
                                                        s->watchdog.cancel();
                                                        self->session_ended();
                                                    }));
    };
    if (tls_context)
        launch(std::make_shared<stream_session<tls_stream>>(std::move(socket), *tls_context));
    else
        launch(std::make_shared<stream_session<tcp::socket>>(std::move(socket)));
}

// Runs the server side of the TLS handshake within header_timeout. Returns false, after logging
// why, when it failed; the caller then closes the connection.
asio::awaitable<bool> server::impl::handshake(stream_session<tls_stream>& s)
{
    arm(s, config.header_timeout);
    auto [ec] = co_await s.stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    disarm(s);
    if (!ec)
        co_return true;

    metrics.tls_handshake_failures++;
    boost::system::error_code endpoint_error;
    auto const peer = s.socket->remote_endpoint(endpoint_error);
    auto const from = endpoint_error ? std::string("an unknown peer")
                                     : peer.address().to_string() + ":" + std::to_string(peer.port());
    if (s.timed_out)
        spdlog::info("TLS handshake with {} timed out after {} ms", from, config.header_timeout.count());
    else
        spdlog::info("TLS handshake with {} failed: {}", from, ec.message());
    co_return false;
}

asio::awaitable<response> server::impl::dispatch(request& req, match_result const& match)
{
    try {
        if (match.options.body == body_mode::json && !req.body().empty()) {
            auto const type = req.header("Content-Type");
            if (!type || is_json_media_type(*type))
                (void)req.json();
        }

        for (auto const& f : *match.filters)
            if (auto early = co_await f(req))
                co_return std::move(*early);

        co_return co_await (*match.target)(req);
    } catch (abort_connection const&) {
        throw;
    } catch (error_response const& e) {
        if (e.status() >= 500)
            spdlog::error("{} {} failed (request id {}): {}", req.method(), req.path(), req.request_id(), e.what());
        co_return response::error(e.status(), e.code(), e.message());
    } catch (boost::system::system_error const& e) {
        if (e.code() == asio::error::operation_aborted && stopping) {
            spdlog::warn("{} {} cancelled by shutdown (request id {})", req.method(), req.path(), req.request_id());
            auto r = response::error(503, "stopping", "the server is stopping; retry later");
            r.headers.set("Retry-After", "1");
            co_return r;
        }
        spdlog::error("{} {} failed (request id {}): {}", req.method(), req.path(), req.request_id(), e.what());
    } catch (std::exception const& e) {
        spdlog::error("{} {} failed (request id {}): {}", req.method(), req.path(), req.request_id(), e.what());
    }
    co_return response::error(500, "internal_error",
                              "the handler failed; see the server log for request id " + std::string(req.request_id()));
}

template <class Stream>
asio::awaitable<void> server::impl::run_session(std::shared_ptr<stream_session<Stream>> s)
{
    constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;
    // A forced stop cancels the operation in flight; later awaits (the 503 reply) still run.
    co_await asio::this_coro::throw_if_cancelled(false);
    if constexpr (is_tls) {
        if (!co_await handshake(*s)) {
            boost::system::error_code ignored;
            s->socket->close(ignored);
            co_return;
        }
    }
    beast::flat_buffer buffer;
    bool first = true;
    bool reset_connection = false;

    // Serialises a response into the session's buffers and returns its write, which starts when
    // awaited. Returning the operation instead of awaiting it here saves a coroutine frame per
    // response. The watchdog limit set here ends with the next arm(): a write is the last
    // operation of an exchange.
    auto write = [&](response r, unsigned version, bool keep_alive, std::string_view request_id, bool head_only) {
        metrics.bytes_out += r.body.size();
        bool const has_body = detail::format_response_head(s->head, r, version, keep_alive, request_id);
        s->body = std::move(r.body);
        s->buffers = {asio::buffer(s->head), asio::buffer(s->body)};
        arm(*s, config.body_timeout);
        return asio::async_write(s->stream, std::span(s->buffers.data(), has_body && !head_only ? 2 : 1), use_tuple);
    };

    // Sends the error response to a request that could not be read; the connection closes after it.
    auto fail = [&](unsigned status, std::string_view code, std::string const& message) {
        metrics.record("", status, std::chrono::nanoseconds(0));
        return write(response::error(status, code, message), 11, false, make_request_id(), false);
    };

    for (;;) {
        // Busy from the end of the header until the response is written: stop() cancels only
        // connections that wait for a request, and lets the others finish theirs.
        s->busy = false;
        detail::request_parser parser;
        parser.header_limit(static_cast<std::uint32_t>(config.header_limit));
        parser.body_limit(config.body_limit);

        // The header is read here rather than with Beast's async_read_header, so that the time
        // limit can change with the first byte. A kept-alive connection may wait idle_timeout
        // for its next request. Once that request has started, its header gets header_timeout.
        // While stopping, a kept-alive connection gets a short grace period. Requests already
        // sent behind the last one get 503, and then the connection closes.
        auto const grace = std::chrono::milliseconds(200);
        bool const stopping_now = stopping || s->closing;
        bool request_begun = first || buffer.size() > 0;
        auto limit = request_begun ? config.header_timeout : config.idle_timeout;
        arm(*s, stopping_now ? std::min(limit, grace) : limit);
        boost::system::error_code read_error;
        std::size_t header_bytes = 0;
        for (;;) {
            if (buffer.size() > 0) {
                auto const used = parser.put(buffer.data(), read_error);
                buffer.consume(used);
                header_bytes += used;
                if (read_error == bhttp::error::need_more)
                    read_error = {};
                if (read_error || parser.is_header_done())
                    break;
            }
            constexpr std::size_t read_size = 16 * 1024;
            auto [ec, n] = co_await s->stream.async_read_some(buffer.prepare(read_size), use_tuple);
            buffer.commit(n);
            if (ec) {
                // As Beast reports it: a clean close between requests ends the stream, a close
                // inside a header is a partial message.
                if (ec == asio::error::eof)
                    read_error = parser.got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
                else
                    read_error = ec;
                break;
            }
            if (!request_begun) {
                request_begun = true;
                arm(*s, stopping_now ? std::min(config.header_timeout, grace) : config.header_timeout);
            }
        }
        disarm(*s);
        first = false;
        metrics.bytes_in += header_bytes;

        if (read_error) {
            if (s->timed_out) {
                if (parser.got_some())
                    co_await fail(408, "request_timeout", "the request headers were not received in time");
            } else if (read_error == bhttp::error::header_limit) {
                co_await fail(431, "headers_too_large",
                              "the request headers exceed the limit of " + std::to_string(config.header_limit) + " bytes");
            } else if (read_error == bhttp::error::body_limit) {
                co_await fail(413, "body_too_large",
                              "the request body exceeds the limit of " + std::to_string(config.body_limit) + " bytes");
            } else if (read_error != bhttp::error::end_of_stream && read_error != asio::error::eof &&
                       read_error != asio::error::operation_aborted && read_error != asio::error::connection_reset &&
                       read_error != asio::ssl::error::stream_truncated) {
                co_await fail(400, "bad_request", "invalid HTTP request: " + read_error.message());
            }
            break;
        }

        s->busy = true;
        auto const started = clock_type::now();
        std::string request_id;
        if (auto const id = parser.headers.get("X-Request-ID"); id && acceptable_request_id(*id))
            request_id = std::string(*id);
        else
            request_id = make_request_id();
        std::string const& method = parser.method;
        std::string const& target = parser.target;
        bool const is_head = parser.verb == bhttp::verb::head;
        unsigned const version = parser.version;

        // Logs and counts the response, then returns write()'s operation.
        auto respond = [&](response r, bool keep_alive, std::string_view pattern) {
            auto const elapsed = clock_type::now() - started;
            metrics.record(pattern, r.status, elapsed);
            spdlog::info("{} {} {} {:.1f}ms request_id={}", method, target, r.status,
                         std::chrono::duration<double, std::milli>(elapsed).count(), request_id);
            return write(std::move(r), version, keep_alive, request_id, is_head);
        };

        if (target.size() > config.target_limit) {
            co_await respond(response::error(414, "uri_too_long",
                                             "the request target exceeds the limit of " +
                                                 std::to_string(config.target_limit) + " bytes"),
                             false, "");
            break;
        }
        if (stopping || s->closing) {
            auto r = response::error(503, "stopping", "the server is stopping; retry later");
            r.headers.set("Retry-After", "1");
            co_await respond(std::move(r), false, "");
            break;
        }

        auto const raw_path = std::string_view(target).substr(0, std::string_view(target).find('?'));
        auto match = routes.match(method, raw_path);
        if (match.outcome != match_result::kind::found) {
            response r;
            switch (match.outcome) {
            case match_result::kind::bad_path: r = response::error(400, "bad_path", match.reason); break;
            case match_result::kind::method_not_allowed:
                r = response::error(405, "method_not_allowed",
                                    "method " + method + " is not allowed on " + std::string(raw_path) +
                                        "; allowed: " + match.allow);
                r.headers.set("Allow", match.allow);
                break;
            default: r = response::error(404, "not_found", "no route for " + method + " " + std::string(raw_path)); break;
            }
            // The body, if any, was not read, so the connection cannot carry another request.
            bool const keep_alive = parser.is_done() && parser.keep_alive();
            auto [write_error, written] = co_await respond(std::move(r), keep_alive, "");
            if (write_error || !keep_alive)
                break;
            continue;
        }

        // A small body usually arrives with the headers: parse what is buffered before reading
        // the socket again, which saves an asynchronous operation per request.
        boost::system::error_code body_error;
        parser.eager(true);
        while (!parser.is_done() && buffer.size() > 0) {
            auto const used = parser.put(buffer.data(), body_error);
            buffer.consume(used);
            metrics.bytes_in += used;
            if (body_error == bhttp::error::need_more)
                body_error = {};
            if (body_error || used == 0)
                break;
        }

        if (!body_error && !parser.is_done()) {
            if (auto const expect = parser.headers.get("Expect"); expect && iequals(*expect, "100-continue")) {
                bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, version};
                auto [ec, n] = co_await bhttp::async_write(s->stream, go_on, use_tuple);
                if (ec)
                    break;
            }
            arm(*s, config.body_timeout);
            std::size_t body_bytes = 0;
            std::tie(body_error, body_bytes) = co_await bhttp::async_read(s->stream, buffer, parser, use_tuple);
            disarm(*s);
            metrics.bytes_in += body_bytes;
        }
        if (body_error) {
            if (s->timed_out)
                co_await respond(response::error(408, "request_timeout", "the request body was not received in time"),
                                 false, match.pattern);
            else if (body_error == bhttp::error::body_limit)
                co_await respond(response::error(413, "body_too_large",
                                                 "the request body exceeds the limit of " +
                                                     std::to_string(config.body_limit) + " bytes"),
                                 false, match.pattern);
            else if (body_error != asio::error::operation_aborted && body_error != asio::error::eof &&
                     body_error != bhttp::error::partial_message)
                co_await respond(response::error(400, "bad_request", "invalid HTTP request body: " + body_error.message()),
                                 false, match.pattern);
            break;
        }

        request req(method, target, std::move(parser.headers), std::move(parser.body));
        req.set_route_params(std::move(match.params));
        req.set_request_id(request_id);
        req.set_json_limits(config.json);

        response r;
        try {
            r = co_await dispatch(req, match);
        } catch (abort_connection const& e) {
            spdlog::info("{} {} closed without a response (request id {}): {}", method, target, request_id, e.what());
            reset_connection = true;
            break;
        } catch (std::exception const& e) {
            spdlog::warn("{} {} cancelled (request id {}): {}", method, target, request_id, e.what());
            r = response::error(503, "stopping", "the server is stopping; retry later");
            r.headers.set("Retry-After", "1");
        }

        bool const keep_alive = parser.keep_alive();
        auto [write_error, written] = co_await respond(std::move(r), keep_alive, match.pattern);
        if (write_error || !keep_alive)
            break;
    }

    boost::system::error_code ignored;
    if (reset_connection) {
        // A zero linger time makes close() send RST instead of FIN.
        s->busy = false;
        s->socket->set_option(asio::socket_base::linger(true, 0), ignored);
        s->socket->close(ignored);
        co_return;
    }
    if constexpr (is_tls) {
        // Skipped after a timeout or cancellation, when the TLS state may be mid-record.
        if (!s->timed_out && s->socket->is_open()) {
            arm(*s, tls_shutdown_timeout);
            co_await s->stream.async_shutdown(use_tuple);
            disarm(*s);
        }
    }
    s->socket->shutdown(tcp::socket::shutdown_send, ignored);
    s->socket->close(ignored);
}

server::server(asio::any_io_executor executor, server_config config)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(config)))
{
    auto* state = impl_.get();
    impl_->routes.add("GET", "/health/live", [](request const&) -> asio::awaitable<response> {
        co_return response::json(boost::json::object{{"status", "live"}});
    });
    impl_->routes.add("GET", "/health/ready", [state](request const&) -> asio::awaitable<response> {
        if (state->ready && !state->stopping)
            co_return response::json(boost::json::object{{"status", "ready"}});
        auto r = response::error(503, "not_ready", state->stopping ? "the server is stopping" : "startup has not finished");
        r.headers.set("Retry-After", "1");
        co_return r;
    });
    impl_->routes.add("GET", "/metrics", [state](request const&) -> asio::awaitable<response> {
        co_return response::text(state->metrics.render(state->connections.load()), 200,
                                 "text/plain; version=0.0.4; charset=utf-8");
    });
}

server::~server()
{
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
}

router& server::router() noexcept
{
    return impl_->routes;
}

boost::system::error_code server::listen()
{
    boost::system::error_code ec;
    auto const address = asio::ip::make_address(impl_->config.host, ec);
    if (ec)
        return ec;
    tcp::endpoint const endpoint(address, impl_->config.port);
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
    }
    return ec;
}

asio::ip::tcp::endpoint server::local_endpoint() const
{
    boost::system::error_code ec;
    return impl_->acceptor.local_endpoint(ec);
}

void server::set_ready(bool ready) noexcept
{
    impl_->ready = ready;
}

bool server::ready() const noexcept
{
    return impl_->ready;
}

std::size_t server::connection_count() const noexcept
{
    return impl_->connections.load();
}

void server::stop()
{
    asio::post(impl_->strand, [self = impl_] { self->begin_stop(); });
}

void server::run_impl(asio::any_completion_handler<void(boost::system::error_code)> completion)
{
    auto self = impl_;
    if (!self->acceptor.is_open()) {
        if (auto ec = listen()) {
            spdlog::error("http server: cannot listen on {}:{}: {}", self->config.host, self->config.port, ec.message());
            asio::post(self->executor, asio::append(std::move(completion), ec));
            return;
        }
    }
    auto const endpoint = local_endpoint();
    spdlog::info("http server listening on {}:{}", endpoint.address().to_string(), endpoint.port());

    auto slot = asio::get_associated_cancellation_slot(completion);
    if (slot.is_connected())
        slot.assign([self](asio::cancellation_type) { asio::post(self->strand, [self] { self->begin_stop(); }); });

    asio::co_spawn(self->strand, self->accept_loop(), [self, h = std::move(completion)](std::exception_ptr error) mutable {
        boost::system::error_code ec;
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (boost::system::system_error const& e) {
                ec = e.code();
            } catch (std::exception const& e) {
                spdlog::error("http server: accept loop failed: {}", e.what());
                ec = asio::error::fault;
            }
        }
        asio::dispatch(asio::append(std::move(h), ec));
    });
}

} // namespace ocean::http
