#define BOOST_TEST_MODULE samples_quickstart
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/test_env.hpp"
#include "common/http_call.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace json = boost::json;
using namespace std::chrono_literals;
using ocean::test::child_process;
using ocean::test::port_of;
using ocean::test::required_env;
using ocean::test::http_call;
using ocean::test::http_call_options;

namespace {

// The emulator and the quickstart as real processes on loopback, wired as in scripts/demo.sh.
struct quickstart_fixture {
    quickstart_fixture()
        : emulator(required_env("OCEAN_PORT_EMULATOR"), {"--listen", "127.0.0.1:0"}),
          emulator_port(port_of(emulator.wait_for_line("ocean-port-emulator listening on", 10s))),
          integration(required_env("OCEAN_SAMPLE_QUICKSTART"), {},
                      {"OCEAN__PORT__BASE_URL=http://127.0.0.1:" + std::to_string(emulator_port),
                       "OCEAN__PORT__CLIENT_ID=local-client-id", "OCEAN__PORT__CLIENT_SECRET=local-client-secret",
                       "OCEAN__INTEGRATION__IDENTIFIER=quickstart-test", "OCEAN__INTEGRATION__TYPE=quickstart",
                       "OCEAN__RESOURCES_PATH=" + required_env("OCEAN_SOURCE_DIR") + "/samples/quickstart/.port/resources",
                       "APPLICATION__HOST=127.0.0.1", "APPLICATION__PORT=0"}),
          port(port_of(integration.wait_for_line("ocean-sample-quickstart listening on", 10s)))
    {
        for (int i = 0; i < 200; ++i) {
            if (call("GET", "/health/ready").status == 200)
                return;
            std::this_thread::sleep_for(50ms);
        }
        BOOST_FAIL("the quickstart did not become ready within 10 s");
    }

    ocean::test::http_result call(std::string method, std::string target, std::string body = {}) const
    {
        http_call_options options;
        options.method = std::move(method);
        options.target = std::move(target);
        options.body = std::move(body);
        return http_call("127.0.0.1", port, options);
    }

    json::array catalog() const
    {
        http_call_options options;
        options.target = "/_emulator/entities";
        auto const result = http_call("127.0.0.1", emulator_port, options);
        BOOST_REQUIRE_EQUAL(result.status, 200U);
        return result.json().as_array();
    }

    child_process emulator;
    std::uint16_t emulator_port;
    child_process integration;
    std::uint16_t port;
};

std::string read_file(std::filesystem::path const& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// The entity members the mapping controls, so the comparison ignores timestamps and datasource.
json::object essentials(json::value const& entity)
{
    auto const& o = entity.as_object();
    json::object out;
    for (auto const* key : {"identifier", "blueprint", "title", "properties", "relations"})
        if (auto const* v = o.if_contains(key))
            out[key] = *v;
    return out;
}

json::value const* find(json::array const& entities, std::string_view identifier)
{
    for (auto const& e : entities)
        if (e.at("identifier").as_string() == identifier)
            return &e;
    return nullptr;
}

} // namespace

BOOST_AUTO_TEST_CASE(quickstart_events_become_exact_entities)
{
    quickstart_fixture f;

    std::vector<std::filesystem::path> events;
    for (auto const& entry : std::filesystem::directory_iterator(required_env("OCEAN_SOURCE_DIR") + "/samples/quickstart/events"))
        events.push_back(entry.path());
    std::sort(events.begin(), events.end());
    BOOST_REQUIRE_GE(events.size(), 10U);
    for (auto const& event : events) {
        auto const reply = f.call("POST", "/integration/webhook", read_file(event));
        BOOST_TEST_CONTEXT("event " << event.filename())
        {
            BOOST_TEST(reply.status == 200U);
        }
    }

    auto const entities = f.catalog();
    std::vector<std::string> keys;
    for (auto const& e : entities)
        keys.push_back(std::string(e.at("blueprint").as_string()) + "/" + std::string(e.at("identifier").as_string()));
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> const expected_keys{"oncallIncident/Q1INC100", "oncallIncident/Q1INC101",
                                                 "oncallIncident/Q1INC103", "oncallService/PSVC001",
                                                 "oncallService/PSVC002"};
    BOOST_TEST(keys == expected_keys, boost::test_tools::per_element());

    auto const incident = json::parse(R"({
        "identifier": "Q1INC100", "blueprint": "oncallIncident", "title": "Checkout latency above 2 s",
        "properties": {"status": "resolved", "urgency": "high",
                       "url": "https://oncall.example.com/incidents/Q1INC100",
                       "createdAt": "2026-12-01T10:00:00Z", "updatedAt": "2026-12-01T10:31:00Z",
                       "assignee": "Dana Okafor"},
        "relations": {"service": "PSVC001"}})");
    auto const* stored_incident = find(entities, "Q1INC100");
    BOOST_REQUIRE(stored_incident != nullptr);
    BOOST_TEST(json::serialize(essentials(*stored_incident)) == json::serialize(incident));

    auto const service = json::parse(R"({
        "identifier": "PSVC002", "blueprint": "oncallService", "title": "Search Indexer",
        "properties": {"status": "active", "description": "Builds the product search index",
                       "url": "https://oncall.example.com/services/PSVC002",
                       "escalationPolicy": "Search on-call", "createdAt": "2026-11-03T11:02:00Z"},
        "relations": {}})");
    auto const* stored_service = find(entities, "PSVC002");
    BOOST_REQUIRE(stored_service != nullptr);
    BOOST_TEST(json::serialize(essentials(*stored_service)) == json::serialize(service));

    auto const* latest = find(entities, "Q1INC103");
    BOOST_REQUIRE(latest != nullptr);
    BOOST_TEST(latest->at("relations").at("service").as_string() == "PSVC001");
    BOOST_TEST(latest->at("properties").at("assignee").as_string() == "Amélie Laurent");
    BOOST_TEST(std::string(latest->at("datasource").as_string()) == "port-ocean/quickstart/0.1.0/quickstart-test/exporter");
}

BOOST_AUTO_TEST_CASE(quickstart_invalid_json_is_400)
{
    quickstart_fixture f;
    auto const reply = f.call("POST", "/integration/webhook", "not json");
    BOOST_TEST(reply.status == 400U);
    BOOST_TEST(reply.json().at("error").as_string() == "invalid_json");
    BOOST_TEST(f.catalog().empty());
}

BOOST_AUTO_TEST_CASE(quickstart_unknown_route_is_404)
{
    quickstart_fixture f;
    auto const reply = f.call("POST", "/integration/nope", "{}");
    BOOST_TEST(reply.status == 404U);
    BOOST_TEST(reply.json().at("error").as_string() == "not_found");
}

BOOST_AUTO_TEST_CASE(quickstart_invalid_payload_is_422)
{
    quickstart_fixture f;
    auto const missing = f.call("POST", "/integration/webhook", R"({"kind": "service", "id": "X"})");
    BOOST_TEST(missing.status == 422U);
    BOOST_TEST(std::string(missing.json().at("message").as_string()).find("'event'") != std::string::npos);

    auto const unknown = f.call("POST", "/integration/webhook", R"({"event": "new", "kind": "pipeline", "id": "X"})");
    BOOST_TEST(unknown.status == 422U);
    BOOST_TEST(unknown.json().at("error").as_string() == "unknown_kind");
    BOOST_TEST(f.catalog().empty());
}

BOOST_AUTO_TEST_CASE(quickstart_creates_integration_in_port)
{
    quickstart_fixture f;
    http_call_options options;
    options.target = "/_emulator/integrations";
    auto const reply = http_call("127.0.0.1", f.emulator_port, options);
    BOOST_REQUIRE_EQUAL(reply.status, 200U);
    auto const text = json::serialize(reply.json());
    BOOST_TEST(text.find("quickstart-test") != std::string::npos);
    BOOST_TEST(text.find("oncallIncident") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(quickstart_stops_cleanly_on_sigterm)
{
    quickstart_fixture f;
    BOOST_TEST(f.integration.terminate(10s) == 0);
}
