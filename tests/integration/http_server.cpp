#define BOOST_TEST_MODULE http_server
#include <boost/test/unit_test.hpp>

#include "common/self_signed_cert.hpp"

#include <ocean/error.hpp>
#include <ocean/http/client.hpp>
#include <ocean/http/server.hpp>
#include <ocean/http/signature.hpp>
#include <ocean/http/typed_body.hpp>

#include <boost/describe/class.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <future>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ocean::http::request;
using ocean::http::response;

namespace {

struct deployment {
    std::string service;
    std::int64_t build = 0;
};
BOOST_DESCRIBE_STRUCT(deployment, (), (service, build))

// A server on 127.0.0.1 with an ephemeral port, run on one test thread. The SDK itself starts no
// thread; the test owns this one, like an application would.
struct server_fixture {
    explicit server_fixture(ocean::http::server_config config = {})
        : server(io.get_executor(), with_loopback(std::move(config)))
    {
        auto routes = server.router().group("/integration");
        routes.post("/webhook", [](request const& r) -> asio::awaitable<response> {
            co_return response::json(boost::json::object{{"received", r.json()}});
        });
        routes.post("/raw", [](request const& r) -> asio::awaitable<response> {
            co_return response::text(r.body());
        }, {ocean::http::body_mode::raw});
        routes.post("/typed", [](request const& r) -> asio::awaitable<response> {
            auto const d = ocean::http::body_as<deployment>(r);
            co_return response::json(boost::json::object{{"service", d.service}, {"build", d.build}});
        });
        routes.post("/form", [](request const& r) -> asio::awaitable<response> {
            auto const payload = boost::json::parse(r.form().find("payload")->second);
            co_return response::json(payload);
        });
        server.router()
            .group("/integration/github", {ocean::http::github_signature({"It's a Secret to Everybody"})})
            .post("/webhook", [](request const& r) -> asio::awaitable<response> {
                co_return response::json(boost::json::object{{"size", r.body().size()}});
            }, {ocean::http::body_mode::raw});
        // Responds with the status of the `status` query parameter and with response fields a
        // careless handler might set: a decoded query value holding CR LF, a name that is not a
        // token, and a Content-Length that contradicts the body.
        routes.post("/echo-header", [](request const& r) -> asio::awaitable<response> {
            auto out = response::text("echo", static_cast<unsigned>(std::stoul(r.query("status").value_or("200"))));
            out.headers.set("X-Echo", r.query("echo").value_or("none"));
            out.headers.set("Bad Name", "space in the name");
            out.headers.set("Content-Length", "999");
            co_return out;
        }, {ocean::http::body_mode::raw});
        routes.post("/boom", [](request const&) -> asio::awaitable<response> {
            throw std::runtime_error("database password is hunter2");
            co_return response::ok();
        });
        routes.post("/slow", [](request const&) -> asio::awaitable<response> {
            asio::steady_timer timer(co_await asio::this_coro::executor, 600ms);
            co_await timer.async_wait(asio::use_awaitable);
            co_return response::json(boost::json::object{{"slow", true}});
        });
        BOOST_REQUIRE(!server.listen());
        port = server.local_endpoint().port();
        server.set_ready(true);
        server.async_run([this](boost::system::error_code ec) { run_result.set_value(ec); });
        thread = std::thread([this] { io.run(); });
    }

    ~server_fixture()
    {
        server.stop();
        if (thread.joinable())
            thread.join();
    }

    static ocean::http::server_config with_loopback(ocean::http::server_config c)
    {
        c.host = "127.0.0.1";
        c.port = 0;
        return c;
    }

    asio::io_context io;
    ocean::http::server server;
    std::uint16_t port = 0;
    std::promise<boost::system::error_code> run_result;
    std::thread thread;
};

// Connects to the server with a blocking socket whose reads time out after `timeout`.
asio::ip::tcp::socket connect(std::uint16_t port, std::chrono::milliseconds timeout = 5000ms)
{
    static asio::io_context client_io;
    asio::ip::tcp::socket socket(client_io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return socket;
}

// Reads until the peer closes or the read times out.
std::string read_all(asio::ip::tcp::socket& socket)
{
    std::string out;
    char buffer[4096];
    for (;;) {
        boost::system::error_code ec;
        auto const n = socket.read_some(asio::buffer(buffer), ec);
        out.append(buffer, n);
        if (ec)
            return out;
    }
}

// Sends raw bytes on a new connection and returns everything the server sent until it closed.
std::string round_trip(std::uint16_t port, std::string const& bytes)
{
    auto socket = connect(port);
    asio::write(socket, asio::buffer(bytes));
    return read_all(socket);
}

std::string post(std::string const& path, std::string const& body, std::string const& extra_headers = "")
{
    return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string post_close(std::string const& path, std::string const& body, std::string const& extra = "")
{
    return post(path, body, "Connection: close\r\n" + extra);
}

// The status code of the first response in `text`.
unsigned status_of(std::string const& text)
{
    if (text.size() < 12 || text.compare(0, 5, "HTTP/") != 0)
        return 0;
    return static_cast<unsigned>(std::stoul(text.substr(9, 3)));
}

boost::json::value body_of(std::string const& text)
{
    auto const at = text.find("\r\n\r\n");
    return boost::json::parse(text.substr(at + 4));
}

std::size_t count(std::string const& text, std::string const& needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(server_answers_valid_webhook)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/webhook", R"({"event":"new"})"));
    BOOST_TEST(status_of(reply) == 200U);
    BOOST_TEST(body_of(reply).at("received").at("event").as_string() == "new");
    BOOST_TEST(reply.find("X-Request-ID: ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_invalid_json_is_400_json)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/webhook", "not json"));
    BOOST_TEST(status_of(reply) == 400U);
    BOOST_TEST(reply.find("Content-Type: application/json") != std::string::npos);
    auto const body = body_of(reply);
    BOOST_TEST(body.at("error").as_string() == "invalid_json");
    BOOST_TEST(std::string(body.at("message").as_string()).find("invalid JSON body") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_unknown_route_is_404_json)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/nope", "{}"));
    BOOST_TEST(status_of(reply) == 404U);
    BOOST_TEST(body_of(reply).at("error").as_string() == "not_found");
    BOOST_TEST(std::string(body_of(reply).at("message").as_string()) == "no route for POST /integration/nope");
}

BOOST_AUTO_TEST_CASE(server_handler_exception_is_500_without_internals)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/boom", "{}"));
    BOOST_TEST(status_of(reply) == 500U);
    BOOST_TEST(body_of(reply).at("error").as_string() == "internal_error");
    BOOST_TEST(reply.find("hunter2") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_wrong_method_is_405_with_allow)
{
    server_fixture f;
    auto const reply = round_trip(f.port, "GET /integration/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    BOOST_TEST(status_of(reply) == 405U);
    BOOST_TEST(reply.find("Allow: POST") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_path_traversal_is_400)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/x/../webhook", "{}"));
    BOOST_TEST(status_of(reply) == 400U);
    BOOST_TEST(body_of(reply).at("error").as_string() == "bad_path");
}

BOOST_AUTO_TEST_CASE(server_pipelined_requests_in_order)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post("/integration/webhook", R"({"n":1})") +
                                            post("/integration/webhook", R"({"n":2})") +
                                            post_close("/integration/webhook", R"({"n":3})"));
    BOOST_TEST(count(reply, "HTTP/1.1 200 OK") == 3U);
    auto const first = reply.find(R"("n":1)");
    auto const second = reply.find(R"("n":2)");
    auto const third = reply.find(R"("n":3)");
    BOOST_TEST(first < second);
    BOOST_TEST(second < third);
    BOOST_TEST(third != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_chunked_body_is_reassembled)
{
    server_fixture f;
    std::string const request = "POST /integration/raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                "Connection: close\r\n\r\n"
                                "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    auto const reply = round_trip(f.port, request);
    BOOST_TEST(status_of(reply) == 200U);
    BOOST_TEST(reply.substr(reply.find("\r\n\r\n") + 4) == "hello world");
}

BOOST_AUTO_TEST_CASE(server_chunked_trailer_is_ignored)
{
    server_fixture f;
    // A valid signature for the body, sent in the trailer: it must not count as a header, or a
    // sender could sign after the fact, and the filter would see a header the request lacks.
    std::string const request =
        "POST /integration/github/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
        "d\r\nHello, World!\r\n0\r\n"
        "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\r\n\r\n";
    auto const reply = round_trip(f.port, request);
    BOOST_TEST(status_of(reply) == 401U);
}

BOOST_AUTO_TEST_CASE(server_expect_continue_then_body)
{
    server_fixture f;
    auto socket = connect(f.port);
    std::string const body = R"({"event":"new"})";
    std::string const head = "POST /integration/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
    asio::write(socket, asio::buffer(head));
    char buffer[256];
    auto const n = socket.read_some(asio::buffer(buffer));
    BOOST_TEST(std::string(buffer, n).starts_with("HTTP/1.1 100 Continue"));
    asio::write(socket, asio::buffer(body));
    auto const reply = read_all(socket);
    BOOST_TEST(status_of(reply) == 200U);
}

BOOST_AUTO_TEST_CASE(server_oversized_body_is_413_before_reading)
{
    ocean::http::server_config config;
    config.body_limit = 1024;
    server_fixture f(config);
    // Only the headers are sent: the answer must not wait for the 10 MB that Content-Length promises.
    auto const reply = round_trip(f.port, "POST /integration/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
    BOOST_TEST(status_of(reply) == 413U);
    BOOST_TEST(body_of(reply).at("error").as_string() == "body_too_large");
}

BOOST_AUTO_TEST_CASE(server_oversized_headers_are_431)
{
    ocean::http::server_config config;
    config.header_limit = 2048;
    server_fixture f(config);
    auto const reply = round_trip(f.port, post_close("/integration/webhook", "{}", "X-Big: " + std::string(4096, 'a') + "\r\n"));
    BOOST_TEST(status_of(reply) == 431U);
}

BOOST_AUTO_TEST_CASE(server_slow_header_client_times_out_others_served)
{
    ocean::http::server_config config;
    config.header_timeout = 300ms;
    server_fixture f(config);

    auto slow = connect(f.port);
    asio::write(slow, asio::buffer(std::string("POST /integration/webhook HTTP/1.1\r\nHost: x\r\n")));
    auto const fast = round_trip(f.port, post_close("/integration/webhook", "{}"));
    BOOST_TEST(status_of(fast) == 200U);

    auto const reply = read_all(slow);
    BOOST_TEST(status_of(reply) == 408U);
}

BOOST_AUTO_TEST_CASE(server_request_id_is_echoed)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/webhook", "{}", "X-Request-ID: delivery-42\r\n"));
    BOOST_TEST(reply.find("X-Request-ID: delivery-42\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_health_and_metrics)
{
    server_fixture f;
    auto const ready = round_trip(f.port, "GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    BOOST_TEST(status_of(ready) == 200U);
    (void)round_trip(f.port, post_close("/integration/webhook", "{}"));
    auto const metrics = round_trip(f.port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    BOOST_TEST(status_of(metrics) == 200U);
    BOOST_TEST(metrics.find(R"(ocean_http_requests_total{route="/integration/webhook",status="200"} 1)") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_graceful_stop_finishes_inflight)
{
    server_fixture f;
    auto in_flight = std::async(std::launch::async, [&] { return round_trip(f.port, post_close("/integration/slow", "{}")); });
    std::this_thread::sleep_for(200ms);
    f.server.stop();

    auto const reply = in_flight.get();
    BOOST_TEST(status_of(reply) == 200U);
    BOOST_TEST(body_of(reply).at("slow").as_bool());

    auto done = f.run_result.get_future();
    BOOST_TEST((done.wait_for(5s) == std::future_status::ready));
    BOOST_TEST(!done.get());
}

BOOST_AUTO_TEST_CASE(server_stop_lets_started_upload_finish)
{
    server_fixture f;
    auto socket = connect(f.port);
    std::string const body = R"({"event":"late"})";
    auto const request = post_close("/integration/webhook", body);
    auto const split = request.size() - body.size() + 5;

    // The header and part of the body arrive before stop(), the rest after it: the request has
    // begun, so it gets its response instead of a closed connection.
    asio::write(socket, asio::buffer(request.substr(0, split)));
    std::this_thread::sleep_for(200ms);
    f.server.stop();
    std::this_thread::sleep_for(200ms);
    asio::write(socket, asio::buffer(request.substr(split)));

    auto const reply = read_all(socket);
    BOOST_TEST(status_of(reply) == 200U);
}

BOOST_AUTO_TEST_CASE(server_keep_alive_header_timeout_applies)
{
    ocean::http::server_config config;
    config.header_timeout = 300ms;
    config.idle_timeout = 10s;
    server_fixture f(config);
    auto socket = connect(f.port);

    asio::write(socket, asio::buffer(std::string("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::string first;
    char chunk[4096];
    while (first.find("\"live\"}") == std::string::npos) {
        auto const n = socket.read_some(asio::buffer(chunk));
        first.append(chunk, n);
    }
    BOOST_TEST(status_of(first) == 200U);

    // The next request starts but its header never ends: header_timeout applies from its first
    // byte, not the idle timeout of the kept-alive connection.
    auto const begun = std::chrono::steady_clock::now();
    asio::write(socket, asio::buffer(std::string("GET /health/live HTTP/1.1\r\nHost: x\r\n")));
    auto const reply = read_all(socket);
    auto const waited = std::chrono::steady_clock::now() - begun;
    BOOST_TEST(status_of(reply) == 408U);
    BOOST_TEST((waited < 5s));
}

BOOST_AUTO_TEST_CASE(server_informational_status_becomes_500)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/echo-header?status=101", "x"));
    BOOST_TEST(status_of(reply) == 500U);
    auto const teapot = round_trip(f.port, post_close("/integration/echo-header?status=418", "x"));
    BOOST_TEST(teapot.substr(0, 15) == "HTTP/1.1 418 \r\n");
}

BOOST_AUTO_TEST_CASE(server_many_concurrent_connections)
{
    // Client and server ends of 1000 connections live in this process: 2000 descriptors.
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 8192);
    setrlimit(RLIMIT_NOFILE, &limit);
    BOOST_REQUIRE(limit.rlim_cur >= 2100);

    server_fixture f;
    std::vector<asio::ip::tcp::socket> sockets;
    for (int i = 0; i < 1000; ++i)
        sockets.push_back(connect(f.port));
    for (auto& s : sockets)
        asio::write(s, asio::buffer(post_close("/integration/webhook", R"({"ok":1})")));
    std::size_t ok = 0;
    for (auto& s : sockets)
        ok += status_of(read_all(s)) == 200U ? 1 : 0;
    BOOST_TEST(ok == 1000U);
}

BOOST_AUTO_TEST_CASE(server_typed_body_failure_is_422_with_path)
{
    server_fixture f;
    auto const good = round_trip(f.port, post_close("/integration/typed", R"({"service":"api","build":12})"));
    BOOST_TEST(status_of(good) == 200U);
    BOOST_TEST(body_of(good).at("build").as_int64() == 12);

    auto const bad = round_trip(f.port, post_close("/integration/typed", R"({"service":"api","build":"twelve"})"));
    BOOST_TEST(status_of(bad) == 422U);
    BOOST_TEST(body_of(bad).at("message").as_string() == "field 'build': expected a number, got a string");
}

BOOST_AUTO_TEST_CASE(server_form_payload_is_decoded)
{
    server_fixture f;
    std::string const body = "payload=%7B%22event%22%3A%22push%22%7D";
    auto const reply = round_trip(f.port, "POST /integration/form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                                            std::to_string(body.size()) + "\r\n\r\n" + body);
    BOOST_TEST(status_of(reply) == 200U);
    BOOST_TEST(body_of(reply).at("event").as_string() == "push");
}

BOOST_AUTO_TEST_CASE(server_unsupported_media_type_is_415)
{
    server_fixture f;
    auto const reply = round_trip(f.port, "POST /integration/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                        "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
    BOOST_TEST(status_of(reply) == 415U);
    BOOST_TEST(body_of(reply).at("error").as_string() == "unsupported_media_type");
}

BOOST_AUTO_TEST_CASE(server_bad_signature_is_401_before_handler)
{
    server_fixture f;
    std::string const signed_header = "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\r\n";
    auto const good = round_trip(f.port, post_close("/integration/github/webhook", "Hello, World!", signed_header));
    BOOST_TEST(status_of(good) == 200U);

    auto const bad = round_trip(f.port, post_close("/integration/github/webhook", "Hello, World?", signed_header));
    BOOST_TEST(status_of(bad) == 401U);
    BOOST_TEST(body_of(bad).at("error").as_string() == "invalid_signature");
    BOOST_TEST(bad.find("757107ea") == std::string::npos);

    auto const missing = round_trip(f.port, post_close("/integration/github/webhook", "Hello, World!"));
    BOOST_TEST(status_of(missing) == 401U);
}

BOOST_AUTO_TEST_CASE(server_long_target_is_414)
{
    ocean::http::server_config config;
    config.target_limit = 64;
    server_fixture f(config);
    auto const reply = round_trip(f.port, post_close("/integration/webhook?pad=" + std::string(100, 'x'), "{}"));
    BOOST_TEST(status_of(reply) == 414U);
    BOOST_TEST(body_of(reply).at("error").as_string() == "uri_too_long");
}

BOOST_AUTO_TEST_CASE(server_connection_limit_is_503)
{
    ocean::http::server_config config;
    config.max_connections = 2;
    server_fixture f(config);
    auto first = connect(f.port);
    auto second = connect(f.port);
    // Let the server accept both before the third arrives.
    std::this_thread::sleep_for(100ms);
    auto const reply = round_trip(f.port, post_close("/integration/webhook", "{}"));
    BOOST_TEST(status_of(reply) == 503U);
    BOOST_TEST(reply.find("Retry-After: 1") != std::string::npos);
    BOOST_TEST(body_of(reply).at("error").as_string() == "too_many_connections");
}

BOOST_AUTO_TEST_CASE(server_stopping_answers_next_request_503)
{
    server_fixture f;
    auto socket = connect(f.port);
    // A slow request and a second one pipelined behind it on the same connection.
    asio::write(socket, asio::buffer(post("/integration/slow", "{}") + post("/integration/webhook", "{}")));
    std::this_thread::sleep_for(200ms);
    f.server.stop();

    auto const reply = read_all(socket);
    BOOST_TEST(status_of(reply) == 200U);
    auto const second = reply.find("HTTP/1.1 503");
    BOOST_TEST(second != std::string::npos);
    BOOST_TEST(reply.find("\"stopping\"", second) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(server_serves_from_several_threads)
{
    // The application runs the io_context on four threads; each connection keeps its own strand.
    asio::io_context io;
    ocean::http::server_config config;
    config.host = "127.0.0.1";
    config.port = 0;
    ocean::http::server server(io.get_executor(), config);
    std::atomic<int> handled{0};
    server.router().group("/integration").post("/webhook", [&](request const& r) -> asio::awaitable<response> {
        ++handled;
        co_return response::json(boost::json::object{{"n", r.json().at("n")}});
    });
    BOOST_REQUIRE(!server.listen());
    auto const port = server.local_endpoint().port();
    std::promise<boost::system::error_code> done;
    server.async_run([&](boost::system::error_code ec) { done.set_value(ec); });
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] { io.run(); });

    std::vector<std::future<bool>> clients;
    for (int c = 0; c < 16; ++c) {
        clients.push_back(std::async(std::launch::async, [port, c] {
            auto socket = connect(port);
            std::string batch;
            for (int i = 0; i < 24; ++i)
                batch += post("/integration/webhook", "{\"n\":" + std::to_string(c * 100 + i) + "}");
            batch += post_close("/integration/webhook", "{\"n\":" + std::to_string(c * 100 + 24) + "}");
            asio::write(socket, asio::buffer(batch));
            auto const reply = read_all(socket);
            // Every response is present and in request order on this connection.
            std::size_t at = 0;
            for (int i = 0; i <= 24; ++i) {
                at = reply.find("{\"n\":" + std::to_string(c * 100 + i) + "}", at);
                if (at == std::string::npos)
                    return false;
            }
            return count(reply, "HTTP/1.1 200 OK") == 25U;
        }));
    }
    std::size_t ordered = 0;
    for (auto& client : clients)
        ordered += client.get() ? 1 : 0;
    BOOST_TEST(ordered == 16U);
    BOOST_TEST(handled.load() == 16 * 25);

    server.stop();
    for (auto& t : threads)
        t.join();
    BOOST_TEST(!done.get_future().get());
}

BOOST_AUTO_TEST_CASE(server_adds_date_and_framing_fields)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/echo-header", "x"));
    BOOST_TEST(status_of(reply) == 200U);
    auto const head = reply.substr(0, reply.find("\r\n\r\n"));
    // IMF-fixdate, e.g. "Date: Fri, 04 Dec 2026 23:50:00 GMT".
    auto const date = head.find("\r\nDate: ");
    BOOST_REQUIRE(date != std::string::npos);
    BOOST_TEST(head.substr(date + 8, 29).size() == 29U);
    BOOST_TEST(head.substr(date + 8 + 26, 3) == "GMT");
    BOOST_TEST(count(head, "Content-Length: ") == 1U);
    BOOST_TEST(head.find("Content-Length: 4") != std::string::npos);
    BOOST_TEST(head.find("Connection: close") != std::string::npos);
    BOOST_TEST(reply.substr(reply.size() - 4) == "echo");
}

BOOST_AUTO_TEST_CASE(server_drops_response_fields_that_would_split_the_response)
{
    server_fixture f;
    auto const plain = round_trip(f.port, post_close("/integration/echo-header?echo=fine", "x"));
    BOOST_TEST(status_of(plain) == 200U);
    BOOST_TEST(plain.find("X-Echo: fine\r\n") != std::string::npos);
    // A name with a space is not a token: dropped.
    BOOST_TEST(plain.find("Bad Name") == std::string::npos);

    // %0D%0A decodes to CR LF: copied into a field it would start a forged Set-Cookie line.
    auto const forged =
        round_trip(f.port, post_close("/integration/echo-header?echo=a%0D%0ASet-Cookie:%20session=evil", "x"));
    BOOST_TEST(status_of(forged) == 200U);
    BOOST_TEST(forged.find("Set-Cookie") == std::string::npos);
    BOOST_TEST(forged.find("X-Echo") == std::string::npos);
    BOOST_TEST(forged.substr(forged.size() - 4) == "echo");
}

BOOST_AUTO_TEST_CASE(server_no_content_has_no_body_or_length)
{
    server_fixture f;
    auto const reply = round_trip(f.port, post_close("/integration/echo-header?status=204", "x"));
    BOOST_TEST(status_of(reply) == 204U);
    BOOST_TEST(reply.find("Content-Length") == std::string::npos);
    BOOST_TEST(reply.substr(reply.size() - 4) == "\r\n\r\n");
}

// ---------------------------------------------------------------------------------------------
// HTTPS

namespace {

ocean::http::server_config tls_config_for(ocean::test::self_signed_cert const& cert)
{
    ocean::http::server_config config;
    config.tls.cert_file = cert.files().certificate;
    config.tls.key_file = cert.files().private_key;
    return config;
}

// Sends GET `path` to the server over HTTPS with ocean::http::client trusting `ca_file`, once.
std::pair<boost::system::error_code, ocean::http::client_response> https_get(std::uint16_t port,
                                                                            std::string const& ca_file,
                                                                            std::string const& path)
{
    asio::io_context io;
    ocean::http::client_config config;
    config.ca_file = ca_file;
    config.retry = ocean::retry_policy::none();
    config.request_timeout = 5s;
    ocean::http::client client(io.get_executor(), config);
    ocean::http::client_request request;
    request.url = "https://127.0.0.1:" + std::to_string(port) + path;
    std::pair<boost::system::error_code, ocean::http::client_response> out;
    bool done = false;
    client.async_send(request, [&](boost::system::error_code ec, ocean::http::client_response response) {
        out = {ec, std::move(response)};
        done = true;
    });
    io.run_for(10s);
    BOOST_TEST_REQUIRE(done, "the HTTPS request did not complete in 10 s");
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(server_tls_serves_https)
{
    ocean::test::self_signed_cert cert;
    server_fixture f(tls_config_for(cert));

    auto const [ec, response] = https_get(f.port, cert.certificate_path(), "/health/live");

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(response.status == 200u);
    BOOST_TEST(response.body == R"({"status":"live"})");
}

BOOST_AUTO_TEST_CASE(server_tls_rejects_plain_http)
{
    ocean::test::self_signed_cert cert;
    server_fixture f(tls_config_for(cert));

    // A plain request fails the handshake; the server closes the connection without a response.
    auto const reply = round_trip(f.port, post_close("/integration/webhook", "{}"));
    BOOST_TEST(status_of(reply) == 0u);

    auto const [ec, response] = https_get(f.port, cert.certificate_path(), "/health/live");
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(response.status == 200u);
}

BOOST_AUTO_TEST_CASE(server_tls_handshake_times_out)
{
    ocean::test::self_signed_cert cert;
    auto config = tls_config_for(cert);
    config.header_timeout = 300ms;
    server_fixture f(config);

    // A client that connects and never starts the handshake is closed after header_timeout.
    auto idle = connect(f.port, 5'000ms);
    auto const started = std::chrono::steady_clock::now();
    auto const received = read_all(idle);
    auto const waited = std::chrono::steady_clock::now() - started;
    BOOST_TEST(received.empty());
    BOOST_TEST((waited >= 250ms));
    BOOST_TEST((waited < 4'000ms));

    auto const [ec, response] = https_get(f.port, cert.certificate_path(), "/health/live");
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(response.status == 200u);
    BOOST_TEST(f.server.connection_count() <= 1u);
}

BOOST_AUTO_TEST_CASE(server_tls_counts_failed_handshakes)
{
    ocean::test::self_signed_cert cert;
    server_fixture f(tls_config_for(cert));

    // The client does not trust the certificate and aborts the handshake.
    auto const [untrusted_error, ignored] = https_get(f.port, "", "/health/live");
    BOOST_TEST((untrusted_error.category() == asio::error::get_ssl_category()), untrusted_error.message());

    auto const [ec, metrics] = https_get(f.port, cert.certificate_path(), "/metrics");
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(metrics.body.find("ocean_http_tls_handshake_failures_total 1\n") != std::string::npos, metrics.body);
}

BOOST_AUTO_TEST_CASE(server_tls_needs_both_files)
{
    asio::io_context io;
    ocean::http::server_config config;
    config.tls.cert_file = "/nonexistent/cert.pem";
    BOOST_CHECK_THROW(ocean::http::server(io.get_executor(), config), ocean::config_error);

    config.tls.key_file = "/nonexistent/key.pem";
    try {
        ocean::http::server server(io.get_executor(), config);
        BOOST_FAIL("a missing certificate file was accepted");
    } catch (ocean::config_error const& e) {
        BOOST_TEST(std::string(e.what()).find("/nonexistent/cert.pem") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(server_stop_without_connections_is_prompt)
{
    // A server that never ran, as after a failed startup: stop() must not hold the io_context
    // for the drain timeout.
    asio::io_context io;
    ocean::http::server_config config;
    config.drain_timeout = 5s;
    ocean::http::server server(io.get_executor(), config);
    server.stop();
    auto const begun = std::chrono::steady_clock::now();
    io.run();
    BOOST_TEST((std::chrono::steady_clock::now() - begun < 2s));
}
