// ocean::port::client against ocean-port-emulator, a separate process on loopback.
#define BOOST_TEST_MODULE port_client
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/http_call.hpp"

#include <ocean/error.hpp>
#include <ocean/port/client.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
namespace port = ocean::port;
using boost::system::error_code;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view ready_prefix = "ocean-port-emulator listening on http://127.0.0.1:";

std::string emulator_path()
{
    char const* path = std::getenv("OCEAN_PORT_EMULATOR");
    if (path == nullptr || *path == '\0')
        throw std::runtime_error("OCEAN_PORT_EMULATOR is not set; run this test through ctest");
    return path;
}

// One emulator process on a free loopback port, killed when the test ends.
struct emulator {
    ocean::test::child_process process;
    std::uint16_t port = 0;

    explicit emulator(std::vector<std::string> options = {})
        : process(emulator_path(), with_listen(std::move(options)))
    {
        auto const line = process.wait_for_line("ocean-port-emulator listening on ", 10s);
        BOOST_TEST_REQUIRE(line.starts_with(ready_prefix));
        port = static_cast<std::uint16_t>(std::stoi(line.substr(ready_prefix.size())));
    }

    static std::vector<std::string> with_listen(std::vector<std::string> options)
    {
        options.insert(options.begin(), {"--listen", "127.0.0.1:0", "--log-level", "warn"});
        return options;
    }

    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port); }

    ocean::test::http_result call(std::string method, std::string target, std::string body = {})
    {
        ocean::test::http_call_options options;
        options.method = std::move(method);
        options.target = std::move(target);
        options.body = std::move(body);
        options.timeout = 30s;
        return ocean::test::http_call("127.0.0.1", port, options);
    }

    void add_fault(json::object fault)
    {
        auto const answer = call("POST", "/_emulator/faults", json::serialize(fault));
        BOOST_TEST_REQUIRE(answer.status == 201u, "fault rejected: " << answer.body);
    }

    json::array requests()
    {
        auto const answer = call("GET", "/_emulator/requests");
        BOOST_TEST_REQUIRE(answer.status == 200u);
        return answer.json().as_array();
    }

    // Counts logged /v1 requests with this method whose path ends with `suffix`, and with
    // `status` unless it is 0.
    std::size_t count_requests(std::string_view method, std::string_view suffix, unsigned status = 0)
    {
        std::size_t n = 0;
        for (auto const& record : requests()) {
            auto const& r = record.as_object();
            if (r.at("method").as_string() != method || !r.at("path").as_string().ends_with(suffix))
                continue;
            if (status != 0 && r.at("status").to_number<unsigned>() != status)
                continue;
            ++n;
        }
        return n;
    }

    json::array entities(std::string const& blueprint)
    {
        auto const answer = call("GET", "/_emulator/entities?blueprint=" + blueprint);
        BOOST_TEST_REQUIRE(answer.status == 200u);
        return answer.json().as_array();
    }
};

port::client_config client_config_for(emulator const& server, std::string identifier = "test-integration")
{
    port::client_config config;
    config.base_url = server.base_url();
    config.client_id = "local-client-id";
    config.client_secret = "local-client-secret";
    config.integration_type = "test-type";
    config.integration_identifier = std::move(identifier);
    // Short backoffs keep the retry tests quick; Retry-After still wins over them.
    config.http.retry.initial_delay = 50ms;
    config.http.retry.max_delay = 5s;
    config.http.retry.total_budget = 60s;
    return config;
}

// A client whose io_context runs on its own thread, so the test thread can block on futures.
struct client_fixture {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::unique_ptr<port::client> client;
    std::thread runner;

    explicit client_fixture(port::client_config config)
        : client(std::make_unique<port::client>(io.get_executor(), std::move(config))),
          runner([this] { io.run(); })
    {
    }

    ~client_fixture()
    {
        io.stop();
        runner.join();
        client.reset();
    }
};

template <class T>
T wait_for(std::future<T>& future, std::chrono::seconds timeout = 120s)
{
    BOOST_TEST_REQUIRE((future.wait_for(timeout) == std::future_status::ready), "operation did not complete");
    return future.get();
}

// A completion handler that stores (error_code, value) in a future, for operations that may fail.
template <class T>
struct captured {
    std::shared_ptr<std::promise<std::pair<error_code, T>>> promise =
        std::make_shared<std::promise<std::pair<error_code, T>>>();
    std::future<std::pair<error_code, T>> future = promise->get_future();

    auto handler() const
    {
        return [p = promise](error_code ec, T value) { p->set_value({ec, std::move(value)}); };
    }
};

port::entity make_entity(std::string const& blueprint, std::string const& identifier, std::size_t padding = 0)
{
    port::entity e;
    e.blueprint = blueprint;
    e.identifier = identifier;
    e.title = "Title of " + identifier;
    e.properties["name"] = identifier;
    if (padding > 0)
        e.properties["blob"] = std::string(padding, 'x');
    return e;
}

std::vector<port::entity> make_entities(std::string const& blueprint, std::size_t count, std::string const& prefix = "e",
                                        std::size_t padding = 0)
{
    std::vector<port::entity> out;
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(make_entity(blueprint, prefix + "-" + std::to_string(i), padding));
    return out;
}

using upsert_outcome = std::pair<error_code, port::write_result>;

upsert_outcome upsert(client_fixture& fixture, std::vector<port::entity> entities, port::upsert_options options = {})
{
    captured<port::write_result> outcome;
    fixture.client->async_upsert_entities(std::move(entities), std::move(options), outcome.handler());
    return wait_for(outcome.future, 280s);
}

json::object bulk_fault(unsigned status, std::int64_t count)
{
    json::object fault;
    fault["method"] = "POST";
    fault["path"] = "/v1/blueprints/*/entities/bulk";
    if (status != 0)
        fault["status"] = status;
    fault["count"] = count;
    return fault;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Retries and failures

BOOST_AUTO_TEST_CASE(retry_after_429_is_honoured)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto fault = bulk_fault(429, 1);
    fault["retry_after"] = 1;
    server.add_fault(fault);

    auto const started = steady::now();
    auto [ec, result] = upsert(fixture, make_entities("service", 1));
    auto const elapsed = steady::now() - started;

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 1u);
    BOOST_TEST((elapsed >= 900ms), "the retry came after " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 429) == 1u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 200) == 1u);
    BOOST_TEST(server.entities("service").size() == 1u);
}

BOOST_AUTO_TEST_CASE(service_unavailable_is_retried)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    server.add_fault(bulk_fault(503, 3));

    auto [ec, result] = upsert(fixture, make_entities("service", 3));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 3u);
    BOOST_TEST(result.pending.empty());
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 503) == 3u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 200) == 1u);
    BOOST_TEST(server.entities("service").size() == 3u);
}

BOOST_AUTO_TEST_CASE(request_timeout_is_retried)
{
    emulator server;
    auto config = client_config_for(server);
    config.http.request_timeout = 500ms;
    client_fixture fixture(config);
    auto fault = bulk_fault(0, 1);
    fault["delay_ms"] = 3000;
    server.add_fault(fault);

    auto [ec, result] = upsert(fixture, make_entities("service", 2));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 2u);
    // The emulator logs the delayed request only when it responds to it, after the retry.
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 200) >= 1u);
    BOOST_TEST(server.entities("service").size() == 2u);
}

BOOST_AUTO_TEST_CASE(connection_reset_is_retried)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto fault = bulk_fault(0, 1);
    fault["reset_connection"] = true;
    server.add_fault(fault);

    auto [ec, result] = upsert(fixture, make_entities("service", 2));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 2u);
    // The emulator logs a reset request with status 0.
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 2u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 200) == 1u);
    BOOST_TEST(server.entities("service").size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_request_is_not_retried)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto fault = bulk_fault(400, 0);
    fault["body"] = json::object{{"ok", false}, {"error", "invalid_request"}, {"message", "property size is invalid"}};
    server.add_fault(fault);

    auto [ec, result] = upsert(fixture, make_entities("service", 2));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 0u);
    BOOST_TEST_REQUIRE(result.failures.size() == 2u);
    BOOST_TEST(result.failures[0].identifier == "e-0");
    BOOST_TEST(result.failures[0].status == 400u);
    BOOST_TEST(result.failures[0].message.find("property size is invalid") != std::string::npos,
               result.failures[0].message);
    BOOST_TEST(result.pending.empty());
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 1u);
}

BOOST_AUTO_TEST_CASE(bad_request_rejects_blueprint_patch)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    json::object fault;
    fault["method"] = "PATCH";
    fault["path"] = "/v1/blueprints/*";
    fault["status"] = 400;

    server.add_fault(fault);
    json::object body;
    body["title"] = "New title";
    captured<json::object> outcome;
    fixture.client->async_patch_blueprint("service", body, outcome.handler());
    auto [ec, blueprint] = wait_for(outcome.future);

    BOOST_TEST((ec == ocean::error::port_rejected), ec.message());
    BOOST_TEST(server.count_requests("PATCH", "/blueprints/service") == 1u);
}

BOOST_AUTO_TEST_CASE(unavailable_port_keeps_entities)
{
    emulator server;
    auto config = client_config_for(server);
    config.http.retry.max_attempts = 3;
    client_fixture fixture(config);
    server.add_fault(bulk_fault(503, 0));

    auto [ec, result] = upsert(fixture, make_entities("service", 45));

    BOOST_TEST((ec == ocean::error::port_unavailable), ec.message());
    BOOST_TEST(result.succeeded == 0u);
    BOOST_TEST(result.failures.empty());
    BOOST_TEST(result.pending.size() == 45u);
    BOOST_TEST(server.entities("service").empty());
}

namespace {

// Starts an upsert that Port answers with 503 and Retry-After: 30, emits `type` on it while the
// client sleeps, and checks that it ends promptly with operation_aborted.
void check_cancel_during_backoff(asio::cancellation_type type)
{
    emulator server;
    auto config = client_config_for(server);
    config.http.retry.max_delay = 60s;
    client_fixture fixture(config);
    auto fault = bulk_fault(503, 0);
    fault["retry_after"] = 30;
    server.add_fault(fault);

    asio::cancellation_signal signal;
    captured<port::write_result> outcome;
    fixture.client->async_upsert_entities(make_entities("service", 5), {},
                                          asio::bind_cancellation_slot(signal.slot(), outcome.handler()));

    auto const deadline = steady::now() + 30s;
    while (server.count_requests("POST", "/entities/bulk", 503) == 0 && steady::now() < deadline)
        std::this_thread::sleep_for(20ms);
    BOOST_TEST_REQUIRE(server.count_requests("POST", "/entities/bulk", 503) == 1u);
    std::this_thread::sleep_for(100ms);
    auto const cancelled = steady::now();
    asio::post(fixture.io, [&signal, type] { signal.emit(type); });

    auto [ec, result] = wait_for(outcome.future);
    auto const took = steady::now() - cancelled;
    BOOST_TEST((ec == asio::error::operation_aborted), ec.message());
    // The backoff lasts 30 s; a prompt cancellation ends well before it.
    BOOST_TEST((took < 10s));
    BOOST_TEST(result.pending.size() == 5u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 1u);
}

} // namespace

BOOST_AUTO_TEST_CASE(cancel_during_backoff_aborts)
{
    check_cancel_during_backoff(asio::cancellation_type::terminal);
}

BOOST_AUTO_TEST_CASE(partial_cancel_during_backoff_aborts)
{
    check_cancel_during_backoff(asio::cancellation_type::partial);
}

BOOST_AUTO_TEST_CASE(total_cancel_during_backoff_aborts)
{
    check_cancel_during_backoff(asio::cancellation_type::total);
}

// ---------------------------------------------------------------------------------------------
// Tokens

BOOST_AUTO_TEST_CASE(one_token_for_concurrent_calls)
{
    emulator server;
    client_fixture fixture(client_config_for(server));

    std::vector<captured<port::write_result>> outcomes(50);
    for (std::size_t i = 0; i < outcomes.size(); ++i)
        fixture.client->async_upsert_entities(make_entities("service", 2, "c" + std::to_string(i)), {},
                                              outcomes[i].handler());
    for (auto& outcome : outcomes) {
        auto [ec, result] = wait_for(outcome.future);
        BOOST_TEST(!ec, ec.message());
        BOOST_TEST(result.succeeded == 2u);
    }
    BOOST_TEST(server.count_requests("POST", "/auth/access_token") == 1u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 50u);
    BOOST_TEST(server.entities("service").size() == 100u);
}

BOOST_AUTO_TEST_CASE(unauthorized_response_refreshes_token)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    server.add_fault(bulk_fault(401, 1));

    auto [ec, result] = upsert(fixture, make_entities("service", 2));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 2u);
    BOOST_TEST(server.count_requests("POST", "/auth/access_token") == 2u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 401) == 1u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 200) == 1u);
}

BOOST_AUTO_TEST_CASE(wrong_secret_fails_with_auth_error)
{
    emulator server;
    auto config = client_config_for(server);
    config.client_secret = "not-the-secret";
    client_fixture fixture(config);

    auto [ec, result] = upsert(fixture, make_entities("service", 3));

    BOOST_TEST((ec == ocean::error::port_auth_failed), ec.message());
    BOOST_TEST(result.pending.size() == 3u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 0u);
}

BOOST_AUTO_TEST_CASE(cancelled_caller_keeps_shared_refresh)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    json::object slow_auth;
    slow_auth["method"] = "POST";
    slow_auth["path"] = "/v1/auth/access_token";
    slow_auth["delay_ms"] = 1000;
    slow_auth["count"] = 1;
    server.add_fault(slow_auth);

    // Both calls wait for the same token; cancelling the first must not fail the second.
    asio::cancellation_signal signal;
    captured<port::write_result> cancelled;
    captured<port::write_result> kept;
    fixture.client->async_upsert_entities(make_entities("service", 1, "a"), {},
                                          asio::bind_cancellation_slot(signal.slot(), cancelled.handler()));
    fixture.client->async_upsert_entities(make_entities("service", 1, "b"), {}, kept.handler());
    std::this_thread::sleep_for(300ms);
    asio::post(fixture.io, [&signal] { signal.emit(asio::cancellation_type::terminal); });

    auto [cancelled_ec, cancelled_result] = wait_for(cancelled.future);
    auto [kept_ec, kept_result] = wait_for(kept.future);
    BOOST_TEST((cancelled_ec == asio::error::operation_aborted), cancelled_ec.message());
    BOOST_TEST(cancelled_result.pending.size() == 1u);
    BOOST_TEST(!kept_ec, kept_ec.message());
    BOOST_TEST(kept_result.succeeded == 1u);
    BOOST_TEST(server.count_requests("POST", "/auth/access_token") == 1u);
}

BOOST_AUTO_TEST_CASE(expiring_token_is_refreshed_once)
{
    emulator server({"--token-ttl", "2"});
    client_fixture fixture(client_config_for(server));

    // One upsert every 100 ms for 2.6 s: the first token (2 s) expires mid-run, the second does not.
    std::vector<captured<port::write_result>> outcomes(27);
    auto const started = steady::now();
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        std::this_thread::sleep_until(started + i * 100ms);
        fixture.client->async_upsert_entities(make_entities("service", 1, "t" + std::to_string(i)), {},
                                              outcomes[i].handler());
    }
    for (auto& outcome : outcomes) {
        auto [ec, result] = wait_for(outcome.future);
        BOOST_TEST(!ec, ec.message());
        BOOST_TEST(result.succeeded == 1u);
    }
    BOOST_TEST(server.count_requests("POST", "/auth/access_token") == 2u);
    BOOST_TEST(server.entities("service").size() == 27u);
}

// ---------------------------------------------------------------------------------------------
// Bulk upsert

BOOST_AUTO_TEST_CASE(huge_token_lifetime_is_clamped)
{
    emulator server;
    // A real token, handed back once with an expiresIn far past what int64 milliseconds hold.
    auto const issued = server.call("POST", "/v1/auth/access_token",
                                    R"({"clientId":"local-client-id","clientSecret":"local-client-secret"})");
    BOOST_TEST_REQUIRE(issued.status == 200u);
    json::object fault;
    fault["method"] = "POST";
    fault["path"] = "/v1/auth/access_token";
    fault["status"] = 200;
    fault["count"] = 1;
    fault["body"] = json::object{{"accessToken", issued.json().at("accessToken")},
                                 {"expiresIn", 1e300},
                                 {"tokenType", "Bearer"}};
    server.add_fault(fault);
    client_fixture fixture(client_config_for(server));

    auto [ec, result] = upsert(fixture, make_entities("service", 40));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 40u);
    BOOST_TEST(server.count_requests("POST", "/v1/auth/access_token") == 2u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 401) == 0u);
}

BOOST_AUTO_TEST_CASE(thousand_entities_take_fifty_bulks)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto entities = make_entities("service", 1000);

    auto [ec, result] = upsert(fixture, entities);

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 1000u);
    BOOST_TEST(result.failures.empty());
    BOOST_TEST_REQUIRE(result.done.size() == 1000u);
    // Bulks run concurrently, but the result keeps the order of the input.
    for (std::size_t i = 0; i < entities.size(); ++i)
        BOOST_TEST(result.done[i] == "service/" + entities[i].identifier_text());
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 50u);
    BOOST_TEST(server.entities("service").size() == 1000u);
}

BOOST_AUTO_TEST_CASE(empty_writes_complete_at_once)
{
    emulator server;
    client_fixture fixture(client_config_for(server));

    auto [upsert_ec, upserted] = upsert(fixture, {});
    BOOST_TEST(!upsert_ec, upsert_ec.message());
    BOOST_TEST(upserted.succeeded == 0u);

    // An entity whose identifier is a search query is never deleted, which leaves no batch.
    port::entity by_query = make_entity("service", "unused");
    by_query.identifier = json::parse(R"({"combinator":"and","rules":[]})");
    captured<port::write_result> removed;
    fixture.client->async_delete_entities({by_query}, {}, removed.handler());
    auto [delete_ec, deleted] = wait_for(removed.future);
    BOOST_TEST(!delete_ec, delete_ec.message());
    BOOST_TEST(deleted.succeeded == 0u);
    BOOST_TEST(server.requests().empty());
}

BOOST_AUTO_TEST_CASE(large_entities_split_by_size)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    // About 300 KB each: three fit in one 1 MiB request, so ten take four requests.
    auto [ec, result] = upsert(fixture, make_entities("service", 10, "big", 300'000));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 10u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk") == 4u);
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 413) == 0u);
    BOOST_TEST(server.count_requests("POST", "/entities") == 0u);
    BOOST_TEST(server.entities("service").size() == 10u);
}

BOOST_AUTO_TEST_CASE(invalid_entity_reported_by_identifier)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto entities = make_entities("service", 20);
    entities[7].identifier = "not a valid identifier!";

    auto [ec, result] = upsert(fixture, entities);

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 19u);
    BOOST_TEST_REQUIRE(result.failures.size() == 1u);
    BOOST_TEST(result.failures[0].identifier == "not a valid identifier!");
    BOOST_TEST(result.failures[0].blueprint == "service");
    BOOST_TEST(result.failures[0].status == 422u);
    BOOST_TEST(!result.failures[0].message.empty());
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 207) == 1u);
    BOOST_TEST(server.entities("service").size() == 19u);
}

BOOST_AUTO_TEST_CASE(rate_limit_paces_upserts)
{
    emulator server({"--rate-limit", "100/10"});
    auto const config = client_config_for(server);
    client_fixture fixture(config);

    auto const started = steady::now();
    auto [ec, result] = upsert(fixture, make_entities("service", 5000));
    auto const elapsed = steady::now() - started;

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 5000u);
    BOOST_TEST(result.pending.empty());
    BOOST_TEST(server.count_requests("POST", "/entities/bulk", 200) == 250u);
    BOOST_TEST(server.entities("service").size() == 5000u);
    // 251 requests (one token, 250 bulks) at 100 per 10 s need three windows.
    BOOST_TEST((elapsed >= 19s));

    // The pacer counts every request in flight, those queued for the next window included,
    // against the window they may land in, so pacing alone should avoid 429s. The few tolerated
    // here each wait for Retry-After and then succeed.
    auto const rejected = server.count_requests("POST", "", 429);
    BOOST_TEST_MESSAGE("429 responses during the run: " << rejected);
    BOOST_TEST(rejected <= 5u);
}

BOOST_AUTO_TEST_CASE(resync_id_is_sent)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    port::upsert_options options;
    options.event_type = "resync";
    options.resync_id = "resync-42";

    auto [ec, result] = upsert(fixture, make_entities("service", 1), options);

    BOOST_TEST(!ec, ec.message());
    bool found = false;
    for (auto const& record : server.requests()) {
        auto const& query = record.at("query").as_string();
        if (record.at("path").as_string().ends_with("/entities/bulk"))
            found = query.find("ocean_info_resync_id=resync-42") != json::string::npos &&
                    query.find("ocean_info_event_type=resync") != json::string::npos;
    }
    BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(delete_removes_in_batches)
{
    emulator server;
    auto config = client_config_for(server);
    config.delete_batch_size = 100;
    client_fixture fixture(config);
    auto entities = make_entities("service", 250);
    auto [stored, written] = upsert(fixture, entities);
    BOOST_TEST_REQUIRE(!stored);

    // Entities that do not exist count as deleted.
    entities.push_back(make_entity("service", "never-stored"));
    captured<port::write_result> outcome;
    fixture.client->async_delete_entities(entities, {}, outcome.handler());
    auto [ec, result] = wait_for(outcome.future);

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 251u);
    BOOST_TEST(server.count_requests("POST", "/bulk/entities/delete") == 3u);
    BOOST_TEST(server.entities("service").empty());
}

// ---------------------------------------------------------------------------------------------
// Integration, blueprints, search and owned entities

BOOST_AUTO_TEST_CASE(datasource_entities_follow_pages)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    client_fixture other(client_config_for(server, "other-integration"));

    BOOST_TEST_REQUIRE(!upsert(fixture, make_entities("service", 15, "old")).first);
    BOOST_TEST_REQUIRE(!upsert(other, make_entities("service", 5, "foreign")).first);
    std::this_thread::sleep_for(50ms);
    auto const boundary = std::chrono::system_clock::now();
    std::this_thread::sleep_for(50ms);
    BOOST_TEST_REQUIRE(!upsert(fixture, make_entities("team", 10, "new")).first);

    port::datasource_query query;
    query.page_size = 10;
    auto all_future = fixture.client->async_get_datasource_entities(query, asio::use_future);
    auto const all = wait_for(all_future);
    BOOST_TEST(all.size() == 25u);
    BOOST_TEST(server.count_requests("POST", "/datasource-entities") == 3u);
    for (auto const& ref : all)
        BOOST_TEST(!ref.identifier.starts_with("foreign"));

    query.before = boundary;
    auto before_future = fixture.client->async_get_datasource_entities(query, asio::use_future);
    auto const older = wait_for(before_future);
    BOOST_TEST(older.size() == 15u);
    for (auto const& ref : older)
        BOOST_TEST(ref.blueprint == "service");

    query = {};
    query.agent = port::user_agent_type::gitops;
    auto gitops_future = fixture.client->async_get_datasource_entities(query, asio::use_future);
    BOOST_TEST(wait_for(gitops_future).empty());
}

BOOST_AUTO_TEST_CASE(search_finds_matching_entities)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    BOOST_TEST_REQUIRE(!upsert(fixture, make_entities("service", 5, "svc")).first);
    BOOST_TEST_REQUIRE(!upsert(fixture, make_entities("team", 3, "team")).first);

    auto query = json::parse(R"({"combinator":"and","rules":[
        {"property":"$blueprint","operator":"=","value":"service"},
        {"property":"$identifier","operator":"in","value":["svc-1","svc-3","team-1"]}]})")
                     .as_object();
    port::search_options options;
    options.include = {"identifier", "blueprint"};
    auto future = fixture.client->async_search_entities(query, options, asio::use_future);
    auto const found = wait_for(future);

    BOOST_TEST_REQUIRE(found.size() == 2u);
    BOOST_TEST(found[0].at("identifier") == json::value("svc-1"));
    BOOST_TEST(found[1].at("identifier") == json::value("svc-3"));
    BOOST_TEST(!found[0].contains("properties"));

    auto bad = json::parse(R"({"combinator":"and","rules":[{"property":"x","operator":"resembles","value":1}]})");
    captured<std::vector<json::object>> outcome;
    fixture.client->async_search_entities(bad.as_object(), {}, outcome.handler());
    auto [ec, none] = wait_for(outcome.future);
    BOOST_TEST((ec == ocean::error::port_rejected), ec.message());
}

BOOST_AUTO_TEST_CASE(resync_state_round_trip)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto create = fixture.client->async_create_integration(json::object{}, asio::use_future);
    wait_for(create);

    port::resync_state state;
    state.status = port::resync_status::completed;
    state.last_resync_start = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'714'557'600'000));
    state.last_resync_end = *state.last_resync_start + 90s;
    state.interval_minutes = 60;
    auto update = fixture.client->async_update_resync_state(state, asio::use_future);
    auto const updated = wait_for(update);
    auto const& sent = updated.at("resyncState").as_object();
    BOOST_TEST(sent.at("status") == json::value("completed"));
    BOOST_TEST(sent.at("lastResyncStart") == json::value("2024-05-01T10:00:00.000Z"));
    BOOST_TEST(sent.at("lastResyncEnd") == json::value("2024-05-01T10:01:30.000Z"));
    BOOST_TEST(sent.at("nextResync").is_null());
    BOOST_TEST(sent.at("intervalInMinuets").to_number<double>() == 60.0);

    auto get = fixture.client->async_get_integration(asio::use_future);
    auto const integration = wait_for(get);
    BOOST_TEST_REQUIRE(integration.has_value());
    BOOST_TEST(integration->at("resyncState").at("status") == json::value("completed"));

    auto first_request = fixture.client->async_get_resync_request(asio::use_future);
    auto const before = wait_for(first_request);
    BOOST_TEST_REQUIRE(before.has_value());
    std::this_thread::sleep_for(20ms);
    BOOST_TEST_REQUIRE(server.call("POST", "/_emulator/resync-request").status == 200u);
    auto second_request = fixture.client->async_get_resync_request(asio::use_future);
    auto const after = wait_for(second_request);
    BOOST_TEST_REQUIRE(after.has_value());
    BOOST_TEST(after->at("updatedAt") != before->at("updatedAt"));
}

BOOST_AUTO_TEST_CASE(resync_request_of_missing_integration)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto future = fixture.client->async_get_resync_request(asio::use_future);
    BOOST_TEST(!wait_for(future).has_value());
}

BOOST_AUTO_TEST_CASE(integration_config_is_patched)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto create = fixture.client->async_create_integration(json::object{}, asio::use_future);
    wait_for(create);

    auto config = json::parse(R"({"resources":[{"kind":"repository"}]})").as_object();
    auto patch = fixture.client->async_patch_integration_config(config, true, asio::use_future);
    auto const patched = wait_for(patch);
    BOOST_TEST(patched.at("config") == json::value(config));
    BOOST_TEST(server.count_requests("PATCH", "/integration/test-integration/config", 200) == 1u);
}

BOOST_AUTO_TEST_CASE(blueprint_get_create_patch)
{
    emulator server;
    client_fixture fixture(client_config_for(server));

    auto missing = fixture.client->async_get_blueprint("service", asio::use_future);
    BOOST_TEST(!wait_for(missing).has_value());

    auto body = json::parse(R"({"identifier":"service","title":"Service","schema":{"properties":{}}})").as_object();
    auto create = fixture.client->async_create_blueprint(body, asio::use_future);
    BOOST_TEST(wait_for(create).at("identifier") == json::value("service"));

    captured<json::object> again;
    fixture.client->async_create_blueprint(body, again.handler());
    auto [ec, duplicate] = wait_for(again.future);
    BOOST_TEST((ec == ocean::error::port_rejected), ec.message());

    json::object change;
    change["title"] = "Services";
    auto patch = fixture.client->async_patch_blueprint("service", change, asio::use_future);
    BOOST_TEST(wait_for(patch).at("title") == json::value("Services"));

    auto get = fixture.client->async_get_blueprint("service", asio::use_future);
    auto const fetched = wait_for(get);
    BOOST_TEST_REQUIRE(fetched.has_value());
    BOOST_TEST(fetched->at("title") == json::value("Services"));
}

// ---------------------------------------------------------------------------------------------
// Completion tokens: each public operation runs with every kind of token.

namespace {

// Runs `op(token)` with a plain callback.
struct callback_runner {
    template <class T, class Op>
    std::pair<error_code, T> run(Op op)
    {
        captured<T> outcome;
        op(outcome.handler());
        return wait_for(outcome.future);
    }
};

// Runs `op(asio::use_future)`; the future throws system_error for an error.
struct future_runner {
    template <class T, class Op>
    std::pair<error_code, T> run(Op op)
    {
        auto future = op(asio::use_future);
        try {
            return {error_code{}, wait_for(future)};
        } catch (boost::system::system_error const& e) {
            return {e.code(), T{}};
        }
    }
};

// Builds the operation with asio::deferred first and starts it later.
struct deferred_runner {
    template <class T, class Op>
    std::pair<error_code, T> run(Op op)
    {
        auto deferred = op(asio::deferred);
        captured<T> outcome;
        std::move(deferred)(outcome.handler());
        return wait_for(outcome.future);
    }
};

// Awaits `op(asio::use_awaitable)` inside a coroutine.
struct awaitable_runner {
    asio::io_context& io;

    template <class T, class Op>
    std::pair<error_code, T> run(Op op)
    {
        auto future = asio::co_spawn(
            io,
            [op]() -> asio::awaitable<std::pair<error_code, T>> {
                try {
                    T value = co_await op(asio::use_awaitable);
                    co_return std::pair<error_code, T>(error_code{}, std::move(value));
                } catch (boost::system::system_error const& e) {
                    co_return std::pair<error_code, T>(e.code(), T{});
                }
            },
            asio::use_future);
        return wait_for(future);
    }
};

template <class Runner>
void exercise_every_operation(Runner runner)
{
    emulator server;
    client_fixture fixture(client_config_for(server));
    auto& c = *fixture.client;

    auto missing = runner.template run<std::optional<json::object>>([&](auto token) { return c.async_get_integration(token); });
    BOOST_TEST(!missing.first, missing.first.message());
    BOOST_TEST(!missing.second.has_value());

    auto created = runner.template run<json::object>([&](auto token) { return c.async_create_integration({}, token); });
    BOOST_TEST(!created.first, created.first.message());
    BOOST_TEST(created.second.at("identifier") == json::value("test-integration"));

    json::object version;
    version["version"] = "0.2.0";
    auto patched = runner.template run<json::object>([&](auto token) { return c.async_patch_integration(version, token); });
    BOOST_TEST(!patched.first, patched.first.message());
    BOOST_TEST(patched.second.at("version") == json::value("0.2.0"));

    json::object mapping;
    mapping["resources"] = json::array();
    auto configured = runner.template run<json::object>(
        [&](auto token) { return c.async_patch_integration_config(mapping, false, token); });
    BOOST_TEST(!configured.first, configured.first.message());

    port::resync_state state;
    auto reported = runner.template run<json::object>([&](auto token) { return c.async_update_resync_state(state, token); });
    BOOST_TEST(!reported.first, reported.first.message());
    BOOST_TEST(reported.second.at("resyncState").at("status") == json::value("running"));

    auto request = runner.template run<std::optional<json::object>>([&](auto token) { return c.async_get_resync_request(token); });
    BOOST_TEST(!request.first, request.first.message());
    BOOST_TEST(request.second.has_value());

    auto blueprint_body = json::parse(R"({"identifier":"service","title":"Service"})").as_object();
    auto blueprint = runner.template run<json::object>([&](auto token) { return c.async_create_blueprint(blueprint_body, token); });
    BOOST_TEST(!blueprint.first, blueprint.first.message());

    json::object title;
    title["title"] = "Services";
    auto renamed =
        runner.template run<json::object>([&](auto token) { return c.async_patch_blueprint("service", title, token); });
    BOOST_TEST(!renamed.first, renamed.first.message());

    auto fetched = runner.template run<std::optional<json::object>>([&](auto token) { return c.async_get_blueprint("service", token); });
    BOOST_TEST(!fetched.first, fetched.first.message());
    BOOST_TEST_REQUIRE(fetched.second.has_value());
    BOOST_TEST(fetched.second->at("title") == json::value("Services"));

    auto entities = make_entities("service", 3);
    auto written = runner.template run<port::write_result>(
        [&](auto token) { return c.async_upsert_entities(entities, {}, token); });
    BOOST_TEST(!written.first, written.first.message());
    BOOST_TEST(written.second.succeeded == 3u);

    auto owned = runner.template run<std::vector<port::entity_ref>>(
        [&](auto token) { return c.async_get_datasource_entities({}, token); });
    BOOST_TEST(!owned.first, owned.first.message());
    BOOST_TEST(owned.second.size() == 3u);

    auto query = json::parse(R"({"combinator":"and","rules":[{"property":"$blueprint","operator":"=","value":"service"}]})")
                     .as_object();
    auto found = runner.template run<std::vector<json::object>>(
        [&](auto token) { return c.async_search_entities(query, {}, token); });
    BOOST_TEST(!found.first, found.first.message());
    BOOST_TEST(found.second.size() == 3u);

    auto raw = runner.template run<ocean::http::client_response>(
        [&](auto token) { return c.async_call("GET", "/blueprints/service", std::nullopt, true, token); });
    BOOST_TEST(!raw.first, raw.first.message());
    BOOST_TEST(raw.second.status == 200u);

    auto removed = runner.template run<port::write_result>(
        [&](auto token) { return c.async_delete_entities(entities, {}, token); });
    BOOST_TEST(!removed.first, removed.first.message());
    BOOST_TEST(removed.second.succeeded == 3u);
    BOOST_TEST(server.entities("service").empty());
}

} // namespace

BOOST_AUTO_TEST_CASE(every_operation_with_callback)
{
    exercise_every_operation(callback_runner{});
}

BOOST_AUTO_TEST_CASE(every_operation_with_use_future)
{
    exercise_every_operation(future_runner{});
}

BOOST_AUTO_TEST_CASE(every_operation_with_deferred)
{
    exercise_every_operation(deferred_runner{});
}

BOOST_AUTO_TEST_CASE(every_operation_with_use_awaitable)
{
    // The coroutines run on an io_context of their own; the client keeps its own thread.
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner([&io] { io.run(); });
    exercise_every_operation(awaitable_runner{io});
    work.reset();
    runner.join();
}
