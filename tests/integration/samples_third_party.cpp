#define BOOST_TEST_MODULE samples_third_party
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/test_env.hpp"
#include "common/http_call.hpp"

#include <ocean/http/signature.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <functional>
#include <set>
#include <thread>

namespace json = boost::json;
using namespace std::chrono_literals;
using ocean::test::child_process;
using ocean::test::port_of;
using ocean::test::required_env;
using ocean::test::http_call;
using ocean::test::http_call_options;

namespace {

// A free loopback port for the integration, whose public URL must be known before it starts.
std::uint16_t free_port()
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

ocean::test::http_result call(std::uint16_t port, std::string method, std::string target, std::string body = {})
{
    http_call_options options;
    options.method = std::move(method);
    options.target = std::move(target);
    options.body = std::move(body);
    return http_call("127.0.0.1", port, options);
}

json::value get_json(std::uint16_t port, std::string target)
{
    auto const reply = call(port, "GET", std::move(target));
    BOOST_REQUIRE_EQUAL(reply.status, 200U);
    return reply.json();
}

// Polls `condition` every 50 ms for up to `limit`; returns whether it became true.
bool eventually(std::function<bool()> const& condition, std::chrono::milliseconds limit = 20s)
{
    for (auto const deadline = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < deadline;) {
        if (condition())
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

struct sample_options {
    std::string listener = "POLLING";
    bool base_url = true;
    std::vector<std::string> extra_environment;
    /// Wait for /health/ready before returning.
    bool wait_ready = true;
};

// The emulator, the fake tracker and the sample as three processes on loopback.
struct third_party_fixture {
    third_party_fixture()
        : emulator(required_env("OCEAN_PORT_EMULATOR"), {"--listen", "127.0.0.1:0"}),
          emulator_port(port_of(emulator.wait_for_line("ocean-port-emulator listening on", 10s))),
          tracker(required_env("OCEAN_FAKE_THIRD_PARTY"), {"--listen", "127.0.0.1:0", "--projects", "3", "--tasks", "10"}),
          tracker_port(port_of(tracker.wait_for_line("ocean-fake-third-party listening on", 10s)))
    {
    }

    void start(sample_options const& options = {})
    {
        port = free_port();
        std::vector<std::string> environment{
            "OCEAN__PORT__BASE_URL=http://127.0.0.1:" + std::to_string(emulator_port),
            "OCEAN__PORT__CLIENT_ID=local-client-id",
            "OCEAN__PORT__CLIENT_SECRET=local-client-secret",
            "OCEAN__INTEGRATION__IDENTIFIER=tracker-test",
            "OCEAN__INTEGRATION__TYPE=tracker",
            "OCEAN__INTEGRATION__CONFIG__SERVICE_URL=http://127.0.0.1:" + std::to_string(tracker_port),
            "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=test-secret",
            "OCEAN__INTEGRATION__CONFIG__PAGE_SIZE=4",
            "OCEAN__EVENT_LISTENER__TYPE=" + options.listener,
            "OCEAN__EVENT_LISTENER__INTERVAL=0.2",
            "OCEAN__RESOURCES_PATH=" + required_env("OCEAN_SOURCE_DIR") + "/samples/third_party/.port/resources",
            "APPLICATION__HOST=127.0.0.1",
            "APPLICATION__PORT=" + std::to_string(port),
        };
        if (options.base_url)
            environment.push_back("OCEAN__BASE_URL=http://127.0.0.1:" + std::to_string(port));
        environment.insert(environment.end(), options.extra_environment.begin(), options.extra_environment.end());
        integration.emplace(required_env("OCEAN_SAMPLE_THIRD_PARTY"), std::vector<std::string>{}, environment);
        integration->wait_for_line("ocean-sample-third-party listening on", 10s);
        if (options.wait_ready)
            BOOST_REQUIRE_MESSAGE(eventually([&] { return call(port, "GET", "/health/ready").status == 200; }),
                                  "the sample did not become ready");
    }

    std::set<std::string> catalog() const
    {
        std::set<std::string> keys;
        auto const entities = get_json(emulator_port, "/_emulator/entities");
        for (auto const& e : entities.as_array())
            keys.insert(std::string(e.at("blueprint").as_string()) + "/" + std::string(e.at("identifier").as_string()));
        return keys;
    }

    json::object integration_record() const
    {
        auto const all = get_json(emulator_port, "/_emulator/integrations");
        if (all.as_array().empty())
            return {};
        return all.as_array().front().as_object();
    }

    std::string resync_status() const
    {
        auto const record = integration_record();
        auto const* state = record.if_contains("resyncState");
        if (state == nullptr || !state->as_object().at("status").is_string())
            return "none";
        return std::string(state->as_object().at("status").as_string());
    }

    child_process emulator;
    std::uint16_t emulator_port;
    child_process tracker;
    std::uint16_t tracker_port;
    std::optional<child_process> integration;
    std::uint16_t port = 0;
};

std::size_t count_blueprint(std::set<std::string> const& keys, std::string const& blueprint)
{
    std::size_t n = 0;
    for (auto const& k : keys)
        n += k.starts_with(blueprint + "/") ? 1 : 0;
    return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(third_party_fresh_start_provisions)
{
    third_party_fixture f;
    f.start();

    auto const record = f.integration_record();
    BOOST_TEST(record.at("identifier").as_string() == "tracker-test");
    BOOST_TEST(record.at("installationAppType").as_string() == "tracker");
    BOOST_TEST(record.at("arePortResourcesInitialized").as_bool());
    BOOST_TEST(record.at("config").as_object().at("resources").as_array().size() == 2U);

    auto const blueprints = get_json(f.emulator_port, "/_emulator/blueprints");
    std::set<std::string> identifiers;
    for (auto const& b : blueprints.as_array()) {
        identifiers.insert(std::string(b.at("identifier").as_string()));
        if (b.at("identifier").as_string() == "trackerTask")
            BOOST_TEST(b.at("relations").at("project").at("target").as_string() == "trackerProject");
    }
    BOOST_TEST((identifiers == std::set<std::string>{"trackerProject", "trackerTask"}));

    auto const hooks = get_json(f.tracker_port, "/api/webhooks");
    BOOST_REQUIRE_EQUAL(hooks.as_array().size(), 1U);
    BOOST_TEST(hooks.as_array()[0].at("url").as_string() ==
               "http://127.0.0.1:" + std::to_string(f.port) + "/integration/webhook");

    // POLLING resyncs on start: 3 projects and 10 tasks, with relations.
    BOOST_REQUIRE(eventually([&] { return f.catalog().size() == 13U; }));
    auto const keys = f.catalog();
    BOOST_TEST(count_blueprint(keys, "trackerProject") == 3U);
    BOOST_TEST(count_blueprint(keys, "trackerTask") == 10U);
    BOOST_REQUIRE(eventually([&] { return f.resync_status() == "completed"; }));
    auto const state = f.integration_record().at("resyncState").as_object();
    BOOST_TEST(state.at("lastResyncStart").is_string());
    BOOST_TEST(state.at("lastResyncEnd").is_string());
    BOOST_TEST(state.at("nextResync").is_string());
    BOOST_TEST(f.integration->terminate() == 0);
}

BOOST_AUTO_TEST_CASE(third_party_no_base_url_still_resyncs)
{
    third_party_fixture f;
    sample_options options;
    options.base_url = false;
    f.start(options);

    BOOST_REQUIRE(eventually([&] { return f.catalog().size() == 13U; }));
    BOOST_TEST(get_json(f.tracker_port, "/api/webhooks").as_array().empty());
    BOOST_TEST(f.integration->terminate() == 0);
}

BOOST_AUTO_TEST_CASE(third_party_live_events_apply)
{
    third_party_fixture f;
    f.start();
    BOOST_REQUIRE(eventually([&] { return f.catalog().size() == 13U; }));

    auto const created = call(f.tracker_port, "POST", "/api/tasks",
                              R"({"id": "TSK-2001", "title": "Live task", "state": "open", "assignee": "Kenji Mori",
                                  "project_id": "PRJ-102"})");
    BOOST_REQUIRE_EQUAL(created.status, 200U);
    BOOST_TEST(eventually([&] { return f.catalog().contains("trackerTask/TSK-2001"); }));

    auto const removed = call(f.tracker_port, "DELETE", "/api/tasks/TSK-1003");
    BOOST_REQUIRE_EQUAL(removed.status, 200U);
    BOOST_TEST(eventually([&] { return !f.catalog().contains("trackerTask/TSK-1003"); }));

    // Deliveries without the tracker's signature are rejected before the handler runs.
    auto const forged = call(f.port, "POST", "/integration/webhook",
                             R"({"action": "delete", "kind": "task", "item": {"id": "TSK-1004"}})");
    BOOST_TEST(forged.status == 401U);
    BOOST_TEST(f.catalog().contains("trackerTask/TSK-1004"));
    BOOST_TEST(f.integration->terminate() == 0);
}

BOOST_AUTO_TEST_CASE(third_party_stale_entity_reconciled)
{
    third_party_fixture f;
    f.start();
    BOOST_REQUIRE(eventually([&] { return f.catalog().size() == 13U; }));
    BOOST_REQUIRE(eventually([&] { return f.resync_status() == "completed"; }));

    // Removed at the source without an event: only the next resync can notice.
    BOOST_REQUIRE_EQUAL(call(f.tracker_port, "DELETE", "/api/tasks/TSK-1007?notify=false").status, 200U);
    std::this_thread::sleep_for(500ms);
    BOOST_TEST(f.catalog().contains("trackerTask/TSK-1007"));

    auto const requested = call(f.emulator_port, "POST", "/_emulator/resync-request", R"({"integration": "tracker-test"})");
    BOOST_REQUIRE_EQUAL(requested.status, 200U);
    BOOST_TEST(eventually([&] { return !f.catalog().contains("trackerTask/TSK-1007"); }));
    BOOST_TEST(f.catalog().size() == 12U);
    BOOST_TEST(f.integration->terminate() == 0);
}

BOOST_AUTO_TEST_CASE(third_party_once_exit_codes)
{
    third_party_fixture f;
    sample_options options;
    options.listener = "ONCE";
    options.wait_ready = false;
    f.start(options);
    BOOST_TEST(f.integration->wait(60s) == 0);
    BOOST_TEST(f.catalog().size() == 13U);
    BOOST_TEST(f.resync_status() == "completed");

    // The tracker now fails its lists, so the resync fails and the process exits non-zero.
    auto const fault = call(f.tracker_port, "POST", "/api/faults", R"({"list_status": 500})");
    BOOST_REQUIRE_EQUAL(fault.status, 200U);
    f.start(options);
    BOOST_TEST(f.integration->wait(60s) != 0);
    BOOST_TEST(f.resync_status() == "failed");
    BOOST_TEST(f.catalog().size() == 13U);
}

BOOST_AUTO_TEST_CASE(third_party_sigterm_aborts_resync)
{
    third_party_fixture f;
    // Every page takes 1 s, so the resync is still running when SIGTERM arrives.
    BOOST_REQUIRE_EQUAL(call(f.tracker_port, "POST", "/api/faults", R"({"list_delay_ms": 1000})").status, 200U);
    f.start();
    BOOST_REQUIRE(eventually([&] { return f.resync_status() == "running"; }));

    BOOST_TEST(f.integration->terminate(30s) == 0);
    BOOST_TEST(f.resync_status() == "aborted");
    BOOST_TEST(f.catalog().size() < 13U);
}

BOOST_AUTO_TEST_CASE(third_party_sigterm_drains_live_event)
{
    third_party_fixture f;
    sample_options options;
    options.listener = "WEBHOOKS_ONLY";
    f.start(options);

    // Port is slow: each bulk upsert waits 1.5 s, so the event is still in flight at SIGTERM.
    auto const fault = call(f.emulator_port, "POST", "/_emulator/faults",
                            R"({"method": "POST", "path": "/v1/blueprints/*/entities/bulk", "delay_ms": 1500, "count": 5})");
    BOOST_REQUIRE_EQUAL(fault.status, 201U);

    std::string const body =
        R"({"action": "upsert", "kind": "project", "item": {"id": "PRJ-900", "name": "Drained", "status": "active"}})";
    unsigned status = 0;
    std::thread sender([&] {
        http_call_options event;
        event.method = "POST";
        event.target = "/integration/webhook";
        event.body = body;
        event.headers.set("X-Hub-Signature-256", "sha256=" + ocean::http::hmac_sha256_hex("test-secret", body));
        event.timeout = 30s;
        status = http_call("127.0.0.1", f.port, event).status;
    });
    std::this_thread::sleep_for(400ms);
    int const exit_status = f.integration->terminate(30s);
    sender.join();

    BOOST_TEST(exit_status == 0);
    BOOST_TEST(status == 200U);
    BOOST_TEST(f.catalog().contains("trackerProject/PRJ-900"));
}
