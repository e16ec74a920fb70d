// ocean::http::client against a scripted peer over real loopback sockets.
#define BOOST_TEST_MODULE http_client
#include <boost/test/unit_test.hpp>

#include <ocean/error.hpp>
#include <ocean/http/client.hpp>

#include "common/fake_http_peer.hpp"
#include "common/self_signed_cert.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/error.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <future>
#include <sstream>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;
using ocean::http::client;
using ocean::http::client_config;
using ocean::http::client_request;
using ocean::http::client_response;
using ocean::test::fake_http_peer;
using ocean::test::scripted_reply;
using steady = std::chrono::steady_clock;

namespace {

struct send_result {
    bool done = false;
    error_code ec;
    client_response response;
    steady::duration elapsed{};
};

// Runs the io_context until the request completes or `limit` passes, whichever is first.
send_result send(asio::io_context& io, client& http, client_request request, steady::duration limit = 20s)
{
    send_result out;
    auto const started = steady::now();
    http.async_send(std::move(request), [&](error_code ec, client_response response) {
        out.done = true;
        out.ec = ec;
        out.response = std::move(response);
        out.elapsed = steady::now() - started;
    });
    io.restart();
    auto const deadline = started + limit;
    while (!out.done && steady::now() < deadline)
        io.run_one_until(deadline);
    return out;
}

client_request get(std::string url)
{
    client_request request;
    request.url = std::move(url);
    return request;
}

// Short delays so the retry tests take well under a second each, and no jitter so that lower
// bounds on gaps are exact.
client_config fast_config()
{
    client_config config;
    config.connect_timeout = 2s;
    config.request_timeout = 5s;
    config.retry.max_attempts = 5;
    config.retry.initial_delay = 50ms;
    config.retry.multiplier = 2.0;
    config.retry.max_delay = 2s;
    config.retry.jitter = 0.0;
    config.retry.total_budget = 0ms;
    return config;
}

long long gap_ms(ocean::test::received_request const& earlier, ocean::test::received_request const& later)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(later.received_at - earlier.received_at).count();
}

long long as_ms(steady::duration d)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Formats `when` as an IMF-fixdate; the C locale gives the English names that HTTP requires.
std::string imf_fixdate(std::chrono::system_clock::time_point when)
{
    std::time_t const seconds = std::chrono::system_clock::to_time_t(when);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    auto const length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return std::string(text, length);
}

// Returns a loopback port on which nothing listens.
unsigned short closed_port(asio::io_context& io)
{
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

} // namespace

BOOST_AUTO_TEST_CASE(get_returns_status_headers_body)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::ok("hello").header("X-Test", "yes")});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/items?page=2#top")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 200u);
    BOOST_TEST(result.response.body == "hello");
    BOOST_TEST(result.response.header("x-test").value_or("") == "yes");
    BOOST_TEST(result.response.attempts == 1u);

    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 1u);
    BOOST_TEST(seen[0].method == "GET");
    BOOST_TEST(seen[0].target == "/items?page=2");
    BOOST_TEST(seen[0].headers.get("Host").value_or("") == "127.0.0.1:" + std::to_string(peer.port()));
    BOOST_TEST(seen[0].headers.get("User-Agent").value_or("") == "ocean-cpp/0.1");
}

BOOST_AUTO_TEST_CASE(post_sends_body_and_headers)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    client http(io.get_executor(), fast_config());

    client_request request;
    request.method = "POST";
    request.url = peer.url("/upsert");
    request.body = R"({"identifier":"a"})";
    request.headers.set("Content-Type", "application/json");
    request.headers.set("User-Agent", "custom/1.0");
    request.headers.set("Content-Length", "999");
    auto const result = send(io, http, request);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 1u);
    BOOST_TEST(seen[0].method == "POST");
    BOOST_TEST(seen[0].body == request.body);
    BOOST_TEST(seen[0].headers.get("Content-Length").value_or("") == std::to_string(request.body.size()));
    BOOST_TEST(seen[0].headers.get("Content-Type").value_or("") == "application/json");
    BOOST_TEST(seen[0].headers.get("User-Agent").value_or("") == "custom/1.0");
}

BOOST_AUTO_TEST_CASE(not_found_is_data)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(404, "missing")});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/nothing")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 404u);
    BOOST_TEST(result.response.body == "missing");
    BOOST_TEST(result.response.attempts == 1u);
    BOOST_TEST(peer.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(retry_after_seconds_honoured)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(429).header("Retry-After", "1"), scripted_reply::ok("done")});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/limited")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 200u);
    BOOST_TEST(result.response.body == "done");
    BOOST_TEST(result.response.attempts == 2u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 900);
}

BOOST_AUTO_TEST_CASE(retry_after_http_date_honoured)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    // An HTTP-date has one-second resolution, so two seconds ahead means at least one second.
    auto const when = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now() + 2s);
    auto const date = imf_fixdate(when);
    peer.script({scripted_reply::with_status(429).header("Retry-After", date), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/limited")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.attempts == 2u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 900, "Retry-After: " << date);
}

BOOST_AUTO_TEST_CASE(ratelimit_reset_honoured_on_429)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(429).header("x-ratelimit-reset", "1"), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/limited")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(result.response.status == 200u);
    BOOST_TEST(result.response.attempts == 2u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 900);
}

BOOST_AUTO_TEST_CASE(retry_after_garbage_uses_backoff)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(429).header("Retry-After", "soon"), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/limited")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 200u);
    BOOST_TEST(result.response.attempts == 2u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 45);
}

BOOST_AUTO_TEST_CASE(retry_after_capped_at_max_delay)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(429).header("Retry-After", "3600"), scripted_reply::ok()});
    auto config = fast_config();
    config.retry.max_delay = 300ms;
    client http(io.get_executor(), config);

    auto const result = send(io, http, get(peer.url("/limited")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(result.response.status == 200u);
    BOOST_TEST(result.response.attempts == 2u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 250);
}

BOOST_AUTO_TEST_CASE(unavailable_retried_with_growing_gaps)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503), scripted_reply::with_status(502), scripted_reply::with_status(504),
                 scripted_reply::ok("recovered")});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/flaky")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 200u);
    BOOST_TEST(result.response.body == "recovered");
    BOOST_TEST(result.response.attempts == 4u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 4u);
    // Backoff 50, 100 and 200 ms without jitter; a timer never fires early.
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 50);
    BOOST_TEST(gap_ms(seen[1], seen[2]) >= 100);
    BOOST_TEST(gap_ms(seen[2], seen[3]) >= 200);
}

BOOST_AUTO_TEST_CASE(exhausted_status_returned_as_data)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503, "a"), scripted_reply::with_status(503, "b"),
                 scripted_reply::with_status(503, "c"), scripted_reply::ok()});
    auto config = fast_config();
    config.retry.max_attempts = 3;
    client http(io.get_executor(), config);

    auto const result = send(io, http, get(peer.url("/down")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 503u);
    BOOST_TEST(result.response.body == "c");
    BOOST_TEST(result.response.attempts == 3u);
    BOOST_TEST(peer.requests().size() == 3u);
}

BOOST_AUTO_TEST_CASE(timeout_then_success)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::hang(), scripted_reply::ok("late")});
    client http(io.get_executor(), fast_config());

    auto request = get(peer.url("/slow"));
    request.timeout = 300ms;
    auto const result = send(io, http, request);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.body == "late");
    BOOST_TEST(result.response.attempts == 2u);
    BOOST_TEST(as_ms(result.elapsed) >= 300);
    BOOST_TEST(peer.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(timeout_reported_when_not_retried)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::hang()});
    auto config = fast_config();
    config.retry = ocean::retry_policy::none();
    config.request_timeout = 200ms;
    client http(io.get_executor(), config);

    auto const result = send(io, http, get(peer.url("/slow")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST((result.ec == ocean::error::timeout), result.ec.message());
    BOOST_TEST(as_ms(result.elapsed) >= 200);
}

BOOST_AUTO_TEST_CASE(reset_mid_response_then_success)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::reset_mid_body(), scripted_reply::ok("whole")});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/broken")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.body == "whole");
    BOOST_TEST(result.response.attempts == 2u);
    BOOST_TEST(peer.requests().size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_request_not_retried)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(400, R"({"error":"invalid property"})"), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/bad")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 400u);
    BOOST_TEST(result.response.attempts == 1u);
    BOOST_TEST(peer.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(post_not_retried_by_default)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    client_request request;
    request.method = "POST";
    request.url = peer.url("/create");
    request.body = "payload";
    auto const result = send(io, http, request);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 503u);
    BOOST_TEST(result.response.attempts == 1u);
    BOOST_TEST(peer.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(post_network_error_not_retried)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::reset_mid_body(), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    client_request request;
    request.method = "POST";
    request.url = peer.url("/create");
    auto const result = send(io, http, request);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(result.ec.failed());
    BOOST_TEST(peer.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(post_retried_when_retryable)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503), scripted_reply::with_status(201, "created")});
    client http(io.get_executor(), fast_config());

    client_request request;
    request.method = "POST";
    request.url = peer.url("/upsert");
    request.body = R"({"identifier":"900019"})";
    request.retryable = true;
    auto const result = send(io, http, request);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 201u);
    BOOST_TEST(result.response.attempts == 2u);
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(seen[0].body == request.body);
    BOOST_TEST(seen[1].body == request.body);
}

BOOST_AUTO_TEST_CASE(connection_refused_reported)
{
    asio::io_context io;
    auto config = fast_config();
    config.retry = ocean::retry_policy::none();
    client http(io.get_executor(), config);

    auto const result = send(io, http, get("http://127.0.0.1:" + std::to_string(closed_port(io)) + "/"));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST((result.ec == asio::error::connection_refused), result.ec.message());
}

BOOST_AUTO_TEST_CASE(connection_refused_retried)
{
    asio::io_context io;
    auto config = fast_config();
    config.retry.max_attempts = 3;
    client http(io.get_executor(), config);

    auto const result = send(io, http, get("http://127.0.0.1:" + std::to_string(closed_port(io)) + "/"));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST((result.ec == asio::error::connection_refused), result.ec.message());
    // Two backoffs of 50 and 100 ms prove that both retries happened.
    BOOST_TEST(as_ms(result.elapsed) >= 150);
}

BOOST_AUTO_TEST_CASE(connection_refused_until_server_starts)
{
    asio::io_context io;
    auto const port = closed_port(io);
    auto config = fast_config();
    config.retry.max_attempts = 10;
    config.retry.initial_delay = 100ms;
    // The client exists before the timer starts: loading the CA store can take a while on a busy
    // machine, and that time must not count toward the 400 ms the server stays down.
    client http(io.get_executor(), config);
    std::unique_ptr<fake_http_peer> peer;
    asio::steady_timer start_later(io, 400ms);
    start_later.async_wait([&](error_code) {
        peer = std::make_unique<fake_http_peer>(io.get_executor(), std::nullopt, port);
        peer->script({scripted_reply::with_status(201, "created")});
    });

    auto const result = send(io, http, get("http://127.0.0.1:" + std::to_string(port) + "/"));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 201u);
    BOOST_TEST(result.response.attempts >= 2u);
    // The server came up 400 ms after the timer started; the send began just after that.
    BOOST_TEST(as_ms(result.elapsed) >= 350);
}

BOOST_AUTO_TEST_CASE(invalid_url_rejected)
{
    asio::io_context io;
    client http(io.get_executor(), fast_config());

    for (auto const* url : {"ftp://127.0.0.1/file", "not a url", "/relative/path", "http://user:secret@127.0.0.1/",
                            "http:///no-host", "http://127.0.0.1:0/"}) {
        auto const result = send(io, http, get(url));
        BOOST_TEST_INFO("URL: " << url);
        BOOST_TEST_REQUIRE(result.done);
        BOOST_TEST((result.ec == ocean::error::invalid_url), result.ec.message());
    }
}

BOOST_AUTO_TEST_CASE(header_injection_rejected)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    client http(io.get_executor(), fast_config());

    auto request = get(peer.url("/"));
    request.headers.set("X-Evil", "a\r\nX-Injected: yes");
    auto const result = send(io, http, request);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST((result.ec == boost::beast::http::error::bad_value), result.ec.message());
    BOOST_TEST(peer.requests().empty());
}

BOOST_AUTO_TEST_CASE(body_limit_enforced)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::ok(std::string(1000, 'x'))});
    auto config = fast_config();
    config.max_response_body = 100;
    client http(io.get_executor(), config);

    auto const result = send(io, http, get(peer.url("/big")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST((result.ec == boost::beast::http::error::body_limit), result.ec.message());
    BOOST_TEST(peer.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(cancel_during_backoff)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503).header("Retry-After", "10"), scripted_reply::ok()});
    auto config = fast_config();
    config.retry.max_delay = 30s;
    client http(io.get_executor(), config);

    asio::cancellation_signal signal;
    asio::steady_timer trigger(io, 300ms);
    trigger.async_wait([&](error_code) { signal.emit(asio::cancellation_type::terminal); });

    send_result out;
    auto const started = steady::now();
    http.async_send(get(peer.url("/busy")),
                    asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, client_response response) {
                        out.done = true;
                        out.ec = ec;
                        out.response = std::move(response);
                        out.elapsed = steady::now() - started;
                    }));
    auto const deadline = started + 20s;
    while (!out.done && steady::now() < deadline)
        io.run_one_until(deadline);

    BOOST_TEST_REQUIRE(out.done);
    BOOST_TEST((out.ec == asio::error::operation_aborted), out.ec.message());
    BOOST_TEST(as_ms(out.elapsed) < 5'000);
    BOOST_TEST(peer.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(cancel_partial_while_waiting_for_response)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::hang()});
    client http(io.get_executor(), fast_config());

    asio::cancellation_signal signal;
    asio::steady_timer trigger(io, 200ms);
    trigger.async_wait([&](error_code) { signal.emit(asio::cancellation_type::partial); });

    send_result out;
    auto const started = steady::now();
    http.async_send(get(peer.url("/hang")),
                    asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, client_response) {
                        out.done = true;
                        out.ec = ec;
                        out.elapsed = steady::now() - started;
                    }));
    auto const deadline = started + 20s;
    while (!out.done && steady::now() < deadline)
        io.run_one_until(deadline);

    BOOST_TEST_REQUIRE(out.done);
    BOOST_TEST((out.ec == asio::error::operation_aborted), out.ec.message());
    // The request timeout is 5 s, so finishing sooner proves the cancellation ended it.
    BOOST_TEST(as_ms(out.elapsed) < 4'000);
}

BOOST_AUTO_TEST_CASE(keep_alive_reuses_connection)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    client http(io.get_executor(), fast_config());

    for (int i = 0; i < 3; ++i) {
        auto const result = send(io, http, get(peer.url("/again")));
        BOOST_TEST_REQUIRE(result.done);
        BOOST_TEST(!result.ec, result.ec.message());
        BOOST_TEST(result.response.status == 200u);
    }

    auto const seen = peer.requests();
    BOOST_TEST(seen.size() == 3u);
    BOOST_TEST(peer.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(overlapping_requests_all_complete)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    // The first request is slow, so the others must not queue behind it.
    auto slow = scripted_reply::ok("slow");
    slow.delay = 2000ms;
    peer.script({slow, scripted_reply::ok("fast"), scripted_reply::ok("fast")});
    client http(io.get_executor(), fast_config());

    std::vector<send_result> results(3);
    auto const started = steady::now();
    for (auto& slot : results)
        http.async_send(get(peer.url("/")), [&slot, started](error_code ec, client_response response) {
            slot.done = true;
            slot.ec = ec;
            slot.response = std::move(response);
            slot.elapsed = steady::now() - started;
        });
    auto const deadline = started + 20s;
    auto const all_done = [&] {
        return std::all_of(results.begin(), results.end(), [](send_result const& r) { return r.done; });
    };
    while (!all_done() && steady::now() < deadline)
        io.run_one_until(deadline);

    BOOST_TEST_REQUIRE(all_done());
    int fast = 0;
    for (auto const& result : results) {
        BOOST_TEST(!result.ec, result.ec.message());
        BOOST_TEST(result.response.status == 200u);
        if (result.response.body == "fast") {
            ++fast;
            BOOST_TEST(as_ms(result.elapsed) < 1500);
        }
    }
    BOOST_TEST(fast == 2);
    BOOST_TEST(peer.connections() == 3u);
}

BOOST_AUTO_TEST_CASE(head_reads_no_body)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::ok(), scripted_reply::ok("after")});
    client http(io.get_executor(), fast_config());

    auto request = get(peer.url("/"));
    request.method = "HEAD";
    auto const head = send(io, http, request);
    auto const after = send(io, http, get(peer.url("/")));

    BOOST_TEST_REQUIRE(head.done);
    BOOST_TEST(!head.ec, head.ec.message());
    BOOST_TEST(head.response.status == 200u);
    BOOST_TEST(head.response.body.empty());
    BOOST_TEST_REQUIRE(after.done);
    BOOST_TEST(after.response.body == "after");
    BOOST_TEST(peer.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(connection_close_not_reused)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    auto closing = scripted_reply::ok();
    closing.close_after = true;
    peer.script({closing, scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    for (int i = 0; i < 2; ++i) {
        auto const result = send(io, http, get(peer.url("/")));
        BOOST_TEST_REQUIRE(result.done);
        BOOST_TEST(!result.ec, result.ec.message());
        BOOST_TEST(result.response.attempts == 1u);
    }
    BOOST_TEST(peer.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(stale_pooled_connection_resent)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    // The second request arrives on the pooled connection, which the peer then drops unanswered,
    // as a server does when it closes an idle connection just as the request arrives.
    peer.script({scripted_reply::ok("first"), scripted_reply::close_without_reply(), scripted_reply::ok("second")});
    auto config = fast_config();
    config.retry = ocean::retry_policy::none();
    client http(io.get_executor(), config);

    auto const first = send(io, http, get(peer.url("/")));
    BOOST_TEST_REQUIRE(first.done);
    BOOST_TEST(first.response.body == "first");

    client_request post;
    post.method = "POST";
    post.url = peer.url("/");
    auto const second = send(io, http, post);

    BOOST_TEST_REQUIRE(second.done);
    BOOST_TEST(!second.ec, second.ec.message());
    BOOST_TEST(second.response.body == "second");
    BOOST_TEST(second.response.attempts == 1u);
    BOOST_TEST(peer.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(https_rejects_untrusted_certificate)
{
    ocean::test::self_signed_cert cert;
    asio::io_context io;
    fake_http_peer peer(io.get_executor(), cert.files());
    client http(io.get_executor(), fast_config());

    auto const result = send(io, http, get(peer.url("/secure")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(result.ec.failed());
    BOOST_TEST((result.ec.category() == asio::error::get_ssl_category()), result.ec.message());
    BOOST_TEST(peer.requests().empty());
}

BOOST_AUTO_TEST_CASE(https_trusts_ca_file)
{
    ocean::test::self_signed_cert cert;
    asio::io_context io;
    fake_http_peer peer(io.get_executor(), cert.files());
    peer.script({scripted_reply::ok("secret data"), scripted_reply::ok("more")});
    auto config = fast_config();
    config.ca_file = cert.certificate_path();
    client http(io.get_executor(), config);

    auto const result = send(io, http, get(peer.url("/secure")));
    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.body == "secret data");

    // By host name too: the certificate names localhost, which is also sent as SNI.
    auto const by_name = send(io, http, get("https://localhost:" + std::to_string(peer.port()) + "/secure"));
    BOOST_TEST_REQUIRE(by_name.done);
    BOOST_TEST(!by_name.ec, by_name.ec.message());
    BOOST_TEST(by_name.response.body == "more");
}

BOOST_AUTO_TEST_CASE(https_without_verification)
{
    ocean::test::self_signed_cert cert;
    asio::io_context io;
    fake_http_peer peer(io.get_executor(), cert.files());
    auto config = fast_config();
    config.verify_peer = false;
    client http(io.get_executor(), config);

    auto const result = send(io, http, get(peer.url("/secure")));

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(!result.ec, result.ec.message());
    BOOST_TEST(result.response.status == 200u);
}

BOOST_AUTO_TEST_CASE(https_keep_alive_and_retry)
{
    ocean::test::self_signed_cert cert;
    asio::io_context io;
    fake_http_peer peer(io.get_executor(), cert.files());
    peer.script({scripted_reply::with_status(503), scripted_reply::ok("a"), scripted_reply::ok("b")});
    auto config = fast_config();
    config.ca_file = cert.certificate_path();
    client http(io.get_executor(), config);

    auto const first = send(io, http, get(peer.url("/")));
    auto const second = send(io, http, get(peer.url("/")));

    BOOST_TEST_REQUIRE(first.done);
    BOOST_TEST_REQUIRE(second.done);
    BOOST_TEST(first.response.body == "a");
    BOOST_TEST(first.response.attempts == 2u);
    BOOST_TEST(second.response.body == "b");
    BOOST_TEST(peer.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(missing_ca_file_rejected)
{
    asio::io_context io;
    auto config = fast_config();
    config.ca_file = "/nonexistent/ca.pem";
    BOOST_CHECK_THROW(client(io.get_executor(), config), ocean::config_error);
}

BOOST_AUTO_TEST_CASE(pacing_spaces_requests)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    for (int i = 0; i < 4; ++i)
        peer.script({scripted_reply::ok()
                         .header("x-ratelimit-limit", "100")
                         .header("x-ratelimit-remaining", "4")
                         .header("x-ratelimit-reset", "1")});
    client http(io.get_executor(), fast_config());

    for (int i = 0; i < 3; ++i) {
        auto const result = send(io, http, get(peer.url("/paced")));
        BOOST_TEST_REQUIRE(result.done);
        BOOST_TEST(!result.ec, result.ec.message());
        BOOST_TEST(result.response.status == 200u);
    }

    // 4 requests left for the next second: one every 250 ms, then one every 333 ms.
    auto const seen = peer.requests();
    BOOST_TEST_REQUIRE(seen.size() == 3u);
    BOOST_TEST(gap_ms(seen[0], seen[1]) >= 200);
    BOOST_TEST(gap_ms(seen[1], seen[2]) >= 200);
}

BOOST_AUTO_TEST_CASE(pacing_disabled_sends_at_once)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    for (int i = 0; i < 2; ++i)
        peer.script({scripted_reply::ok()
                         .header("x-ratelimit-limit", "100")
                         .header("x-ratelimit-remaining", "0")
                         .header("x-ratelimit-reset", "10")});
    auto config = fast_config();
    config.pacing_threshold = 0;
    client http(io.get_executor(), config);

    auto const first = send(io, http, get(peer.url("/")));
    auto const second = send(io, http, get(peer.url("/")));

    BOOST_TEST_REQUIRE(second.done);
    BOOST_TEST(!second.ec, second.ec.message());
    // With pacing on, the second request would wait 10 s for the reset.
    BOOST_TEST(as_ms(second.elapsed) < 5'000);
}

BOOST_AUTO_TEST_CASE(retry_log_omits_secrets)
{
    std::ostringstream log;
    auto const previous = spdlog::default_logger();
    auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
    capture->set_level(spdlog::level::trace);
    spdlog::set_default_logger(capture);

    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503), scripted_reply::ok()});
    client http(io.get_executor(), fast_config());

    client_request request;
    request.method = "PUT";
    request.url = peer.url("/entities/a?token=query-secret");
    request.headers.set("Authorization", "Bearer header-secret");
    request.body = "body-secret";
    auto const result = send(io, http, request);
    spdlog::set_default_logger(previous);

    BOOST_TEST_REQUIRE(result.done);
    BOOST_TEST(result.response.attempts == 2u);
    auto const text = log.str();
    BOOST_TEST(text.find("PUT") != std::string::npos, text);
    BOOST_TEST(text.find("/entities/a") != std::string::npos, text);
    BOOST_TEST(text.find("status 503") != std::string::npos, text);
    BOOST_TEST(text.find("2/5") != std::string::npos, text);
    BOOST_TEST(text.find("query-secret") == std::string::npos, text);
    BOOST_TEST(text.find("header-secret") == std::string::npos, text);
    BOOST_TEST(text.find("body-secret") == std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(token_callback_not_inline_and_on_bound_executor)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    client http(io.get_executor(), fast_config());
    auto strand = asio::make_strand(io);

    bool done = false;
    bool on_strand = false;
    int calls = 0;
    http.async_send(get(peer.url("/")), asio::bind_executor(strand, [&](error_code ec, client_response response) {
                        ++calls;
                        done = !ec && response.status == 200;
                        on_strand = strand.running_in_this_thread();
                    }));
    BOOST_TEST(calls == 0);

    auto const deadline = steady::now() + 20s;
    while (calls == 0 && steady::now() < deadline)
        io.run_one_until(deadline);
    // Let any erroneous second completion run before counting.
    io.run_for(50ms);

    BOOST_TEST(calls == 1);
    BOOST_TEST(done);
    BOOST_TEST(on_strand);
}

BOOST_AUTO_TEST_CASE(token_use_future)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::ok("future")});
    client http(io.get_executor(), fast_config());

    std::future<client_response> future = http.async_send(get(peer.url("/")), asio::use_future);
    std::thread runner([&] { io.run_for(20s); });
    auto const status = future.wait_for(20s);
    io.stop();
    runner.join();

    BOOST_TEST_REQUIRE((status == std::future_status::ready));
    auto const response = future.get();
    BOOST_TEST(response.body == "future");
}

BOOST_AUTO_TEST_CASE(token_use_future_error_throws)
{
    asio::io_context io;
    auto config = fast_config();
    client http(io.get_executor(), config);

    auto future = http.async_send(get("gopher://127.0.0.1/"), asio::use_future);
    std::thread runner([&] { io.run_for(20s); });
    auto const status = future.wait_for(20s);
    io.stop();
    runner.join();

    BOOST_TEST_REQUIRE((status == std::future_status::ready));
    BOOST_CHECK_THROW(future.get(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(token_deferred)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::ok("deferred")});
    client http(io.get_executor(), fast_config());

    auto operation = http.async_send(get(peer.url("/")), asio::deferred);
    io.restart();
    io.run_for(50ms);
    // A deferred operation starts only when invoked.
    BOOST_TEST(peer.requests().empty());

    send_result out;
    std::move(operation)([&](error_code ec, client_response response) {
        out.done = true;
        out.ec = ec;
        out.response = std::move(response);
    });
    io.restart();
    auto const deadline = steady::now() + 20s;
    while (!out.done && steady::now() < deadline)
        io.run_one_until(deadline);

    BOOST_TEST_REQUIRE(out.done);
    BOOST_TEST(!out.ec, out.ec.message());
    BOOST_TEST(out.response.body == "deferred");
}

BOOST_AUTO_TEST_CASE(token_use_awaitable)
{
    asio::io_context io;
    fake_http_peer peer(io.get_executor());
    peer.script({scripted_reply::with_status(503), scripted_reply::ok("awaited")});
    client http(io.get_executor(), fast_config());

    send_result out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // The default token is use_awaitable.
            auto response = co_await http.async_send(get(peer.url("/")));
            out.response = std::move(response);
        },
        [&](std::exception_ptr failure) {
            out.done = true;
            try {
                if (failure)
                    std::rethrow_exception(failure);
            }
            catch (boost::system::system_error const& e) {
                out.ec = e.code();
            }
        });
    auto const deadline = steady::now() + 20s;
    while (!out.done && steady::now() < deadline)
        io.run_one_until(deadline);

    BOOST_TEST_REQUIRE(out.done);
    BOOST_TEST(!out.ec, out.ec.message());
    BOOST_TEST(out.response.body == "awaited");
    BOOST_TEST(out.response.attempts == 2u);
}
