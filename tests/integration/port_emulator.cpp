// ocean-port-emulator as a separate process on loopback, driven over real sockets.
#define BOOST_TEST_MODULE port_emulator
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/http_call.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace json = boost::json;
using ocean::test::http_call_options;
using ocean::test::http_result;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view ready_prefix = "ocean-port-emulator listening on http://127.0.0.1:";
constexpr std::string_view ocean_user_agent = "port-ocean/demo/0.1.0/demo-integration/exporter";

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
    std::string ready_line;
    std::uint16_t port = 0;

    explicit emulator(std::vector<std::string> options = {})
        : process(emulator_path(), with_listen(std::move(options)))
    {
        ready_line = process.wait_for_line("ocean-port-emulator listening on ", 10s);
        BOOST_TEST_REQUIRE(ready_line.starts_with(ready_prefix));
        port = static_cast<std::uint16_t>(std::stoi(ready_line.substr(ready_prefix.size())));
    }

    static std::vector<std::string> with_listen(std::vector<std::string> options)
    {
        options.insert(options.begin(), {"--listen", "127.0.0.1:0", "--exit-with-parent"});
        return options;
    }

    http_result call(std::string method, std::string target, std::string body = {}, ocean::http::fields headers = {})
    {
        http_call_options options;
        options.method = std::move(method);
        options.target = std::move(target);
        options.body = std::move(body);
        options.headers = std::move(headers);
        return ocean::test::http_call("127.0.0.1", port, options);
    }

    std::string token()
    {
        auto const answer = call("POST", "/v1/auth/access_token",
                                 R"({"clientId":"local-client-id","clientSecret":"local-client-secret"})");
        BOOST_TEST_REQUIRE(answer.status == 200u);
        return std::string(answer.json().at("accessToken").as_string());
    }

    // Calls a /v1 route with a fresh token and Ocean's User-Agent.
    http_result port_call(std::string method, std::string target, std::string body = {})
    {
        ocean::http::fields headers;
        headers.set("Authorization", "Bearer " + token());
        headers.set("User-Agent", ocean_user_agent);
        return call(std::move(method), std::move(target), std::move(body), std::move(headers));
    }

    json::array entities(std::string const& query = {})
    {
        auto const answer = call("GET", "/_emulator/entities" + query);
        BOOST_TEST_REQUIRE(answer.status == 200u);
        return answer.json().as_array();
    }
};

std::string bulk_body(std::vector<std::string> const& identifiers)
{
    json::array list;
    for (auto const& id : identifiers)
        list.push_back(json::object{{"identifier", id}, {"title", "Title " + id}, {"properties", json::object{{"n", 1}}}});
    return json::serialize(json::object{{"entities", std::move(list)}});
}

std::vector<std::string> identifiers_of(json::array const& entities)
{
    std::vector<std::string> out;
    for (auto const& entity : entities)
        out.emplace_back(entity.at("identifier").as_string());
    return out;
}

std::string unique_temp_path(std::string_view name)
{
    return (std::filesystem::temp_directory_path() /
            ("ocean-emulator-" + std::to_string(::getpid()) + "-" + std::string(name)))
        .string();
}

} // namespace

BOOST_AUTO_TEST_CASE(ready_line_names_port)
{
    emulator server;
    BOOST_TEST(server.port > 0);
    BOOST_TEST(server.ready_line == std::string(ready_prefix) + std::to_string(server.port));
    BOOST_TEST(server.entities().empty());
}

BOOST_AUTO_TEST_CASE(missing_token_is_401)
{
    emulator server;
    auto const answer = server.call("GET", "/v1/integration/demo-integration");
    BOOST_TEST(answer.status == 401u);
    auto const body = answer.json().as_object();
    BOOST_TEST(body.at("ok") == json::value(false));
    BOOST_TEST(body.at("error") == json::value("unauthorized"));
    BOOST_TEST(body.at("message").is_string());
}

BOOST_AUTO_TEST_CASE(wrong_secret_is_401)
{
    emulator server;
    auto const answer =
        server.call("POST", "/v1/auth/access_token", R"({"clientId":"local-client-id","clientSecret":"not-the-secret"})");
    BOOST_TEST(answer.status == 401u);
    BOOST_TEST(answer.json().at("error") == json::value("unauthorized"));

    ocean::http::fields headers;
    headers.set("Authorization", "Bearer not-a-token");
    BOOST_TEST(server.call("GET", "/v1/integration/demo-integration", {}, headers).status == 401u);
}

BOOST_AUTO_TEST_CASE(token_grants_access)
{
    emulator server({"--client-id", "my-id", "--client-secret", "my-secret"});
    auto const answer = server.call("POST", "/v1/auth/access_token", R"({"clientId":"my-id","clientSecret":"my-secret"})");
    BOOST_TEST_REQUIRE(answer.status == 200u);
    auto const body = answer.json().as_object();
    BOOST_TEST(body.at("tokenType") == json::value("Bearer"));
    BOOST_TEST(body.at("expiresIn") == json::value(10800));
    auto const token = std::string(body.at("accessToken").as_string());
    BOOST_TEST(std::count(token.begin(), token.end(), '.') == 2);

    ocean::http::fields headers;
    headers.set("Authorization", "Bearer " + token);
    auto const missing = server.call("GET", "/v1/integration/demo-integration", {}, headers);
    BOOST_TEST(missing.status == 404u);
    BOOST_TEST(missing.json().at("error") == json::value("not_found"));

    // Port hands out the same token again while it is valid.
    auto const again = server.call("POST", "/v1/auth/access_token", R"({"clientId":"my-id","clientSecret":"my-secret"})");
    BOOST_TEST(again.json().at("accessToken") == json::value(token));
}

BOOST_AUTO_TEST_CASE(integration_create_get_patch)
{
    emulator server;
    BOOST_TEST(server.port_call("GET", "/v1/integration/demo-integration").status == 404u);

    auto const created = server.port_call("POST", "/v1/integration",
                                          R"({"installationId":"demo-integration","installationAppType":"demo",)"
                                          R"("version":"0.1.0","config":{"resources":[]},"changelogDestination":null})");
    BOOST_TEST_REQUIRE(created.status == 201u);
    BOOST_TEST(created.json().at("integration").at("identifier") == json::value("demo-integration"));
    BOOST_TEST(server.port_call("POST", "/v1/integration", R"({"installationId":"demo-integration"})").status == 409u);

    auto const fetched = server.port_call("GET", "/v1/integration/demo-integration");
    BOOST_TEST_REQUIRE(fetched.status == 200u);
    auto const integration = fetched.json().at("integration").as_object();
    BOOST_TEST(integration.at("installationId") == json::value("demo-integration"));
    BOOST_TEST(integration.at("installationAppType") == json::value("demo"));
    BOOST_TEST(integration.at("version") == json::value("0.1.0"));
    BOOST_TEST(integration.at("config") == json::parse(R"({"resources":[]})"));
    BOOST_TEST(integration.at("arePortResourcesInitialized") == json::value(false));

    auto const patched = server.port_call("PATCH", "/v1/integration/demo-integration",
                                          R"({"version":"0.2.0","arePortResourcesInitialized":true})");
    BOOST_TEST_REQUIRE(patched.status == 200u);
    BOOST_TEST(patched.json().at("integration").at("version") == json::value("0.2.0"));
    BOOST_TEST(patched.json().at("integration").at("installationAppType") == json::value("demo"));

    auto const state = server.port_call("PATCH", "/v1/integration/demo-integration/resync-state",
                                        R"({"status":"completed","lastResyncStart":"2024-05-01T10:00:00.000Z",)"
                                        R"("lastResyncEnd":"2024-05-01T10:01:00.000Z","nextResync":null,"intervalInMinuets":60})");
    BOOST_TEST_REQUIRE(state.status == 200u);
    auto const resync = state.json().at("integration").at("resyncState").as_object();
    BOOST_TEST(resync.at("status") == json::value("completed"));
    BOOST_TEST(resync.at("intervalInMinuets") == json::value(60));
    BOOST_TEST(resync.at("updatedAt").is_string());

    auto const listed = server.call("GET", "/_emulator/integrations").json().as_array();
    BOOST_TEST_REQUIRE(listed.size() == 1u);
    BOOST_TEST(listed[0].at("version") == json::value("0.2.0"));
}

BOOST_AUTO_TEST_CASE(bulk_upsert_records_datasource)
{
    emulator server;
    auto const answer =
        server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true&merge=true", bulk_body({"c", "a", "b"}));
    BOOST_TEST_REQUIRE(answer.status == 200u);
    auto const body = answer.json().as_object();
    BOOST_TEST(body.at("errors").as_array().empty());
    BOOST_TEST(body.at("entities") == json::parse(R"([{"identifier":"c","index":0,"created":true},)"
                                                  R"({"identifier":"a","index":1,"created":true},)"
                                                  R"({"identifier":"b","index":2,"created":true}])"));

    auto const stored = server.entities("?blueprint=service");
    BOOST_TEST(identifiers_of(stored) == (std::vector<std::string>{"a", "b", "c"}), boost::test_tools::per_element());
    for (auto const& entity : stored) {
        BOOST_TEST(entity.at("blueprint") == json::value("service"));
        BOOST_TEST(entity.at("datasource") == json::value(ocean_user_agent));
        BOOST_TEST(entity.at("title") == json::value("Title " + std::string(entity.at("identifier").as_string())));
        BOOST_TEST(entity.at("properties") == json::parse(R"({"n":1})"));
        // ISO 8601 UTC with milliseconds: 2024-05-01T10:00:00.000Z
        BOOST_TEST(entity.at("createdAt").as_string().size() == 24u);
        BOOST_TEST(entity.at("createdAt").as_string().ends_with("Z"));
    }
    BOOST_TEST(server.entities("?blueprint=other").empty());
}

BOOST_AUTO_TEST_CASE(bulk_of_21_rejected)
{
    emulator server;
    std::vector<std::string> identifiers;
    for (int i = 0; i < 21; ++i)
        identifiers.push_back("e" + std::to_string(i));
    auto const answer = server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true", bulk_body(identifiers));
    BOOST_TEST(answer.status == 422u);
    BOOST_TEST(std::string(answer.json().at("message").as_string()).find("got 21") != std::string::npos);
    BOOST_TEST(server.entities().empty());
}

BOOST_AUTO_TEST_CASE(bulk_partial_failure_is_207)
{
    emulator server;
    auto const answer = server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true",
                                         R"({"entities":[{"identifier":"good-1"},{"identifier":"bad id!"},)"
                                         R"({"identifier":"good-2","title":"Two"}]})");
    BOOST_TEST_REQUIRE(answer.status == 207u);
    auto const body = answer.json().as_object();
    BOOST_TEST(body.at("entities") == json::parse(R"([{"identifier":"good-1","index":0,"created":true},)"
                                                  R"({"identifier":"good-2","index":2,"created":true}])"));
    auto const& errors = body.at("errors").as_array();
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].at("identifier") == json::value("bad id!"));
    BOOST_TEST(errors[0].at("index") == json::value(1));
    BOOST_TEST(errors[0].at("statusCode") == json::value(422));
    BOOST_TEST(std::string(errors[0].at("message").as_string()).find("bad id!") != std::string::npos);
    BOOST_TEST(identifiers_of(server.entities()) == (std::vector<std::string>{"good-1", "good-2"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(body_over_1mib_is_413)
{
    emulator server;
    std::string body = R"({"identifier":"big","properties":{"blob":")";
    body += std::string(1024 * 1024, 'x');
    body += R"("}})";
    auto const answer = server.port_call("POST", "/v1/blueprints/service/entities?upsert=true", body);
    BOOST_TEST(answer.status == 413u);
    BOOST_TEST(answer.json() == json::parse(answer.body));
    BOOST_TEST(answer.json().at("ok") == json::value(false));
    BOOST_TEST(answer.json().at("error") == json::value("request_too_large"));
    BOOST_TEST(server.entities().empty());
}

BOOST_AUTO_TEST_CASE(bulk_delete_lists_deleted)
{
    emulator server;
    BOOST_TEST_REQUIRE(
        server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true", bulk_body({"a", "b", "c"})).status ==
        200u);
    auto const answer = server.port_call("POST", "/v1/blueprints/service/bulk/entities/delete?delete_dependents=true",
                                         R"({"entities":["a","missing","c"]})");
    BOOST_TEST_REQUIRE(answer.status == 200u);
    BOOST_TEST(answer.json() == json::parse(R"({"ok":true,"deletedEntities":["a","c"]})"));
    BOOST_TEST(identifiers_of(server.entities()) == (std::vector<std::string>{"b"}), boost::test_tools::per_element());

    BOOST_TEST(server.port_call("DELETE", "/v1/blueprints/service/entities/b").status == 200u);
    BOOST_TEST(server.port_call("DELETE", "/v1/blueprints/service/entities/b").status == 404u);
    BOOST_TEST(server.entities().empty());
}

BOOST_AUTO_TEST_CASE(datasource_entities_pages_before)
{
    emulator server;
    auto const bulk = "/v1/blueprints/service/entities/bulk?upsert=true";
    BOOST_TEST_REQUIRE(server.port_call("POST", bulk, bulk_body({"b", "a"})).status == 200u);
    std::this_thread::sleep_for(20ms);
    BOOST_TEST_REQUIRE(server.port_call("POST", bulk, bulk_body({"c"})).status == 200u);

    // Another integration's entity, which must never be listed.
    ocean::http::fields other;
    other.set("Authorization", "Bearer " + server.token());
    other.set("User-Agent", "port-ocean/demo/0.1.0/another-integration/exporter");
    BOOST_TEST_REQUIRE(server.call("POST", bulk, bulk_body({"d"}), other).status == 200u);

    std::string before;
    for (auto const& entity : server.entities())
        if (entity.at("identifier") == json::value("c"))
            before = std::string(entity.at("updatedAt").as_string());
    BOOST_TEST_REQUIRE(!before.empty());

    auto page = [&](json::value from) {
        json::object request{{"datasource_prefix", "port-ocean/demo/"},
                             {"datasource_suffix", "/demo-integration/exporter"},
                             {"limit", 1},
                             {"before", before}};
        if (!from.is_null())
            request["from"] = from;
        auto const answer = server.port_call("POST", "/v1/blueprints/entities/datasource-entities", json::serialize(request));
        BOOST_TEST_REQUIRE(answer.status == 200u);
        return answer.json().as_object();
    };

    auto const first = page(nullptr);
    BOOST_TEST(first.at("entities") == json::parse(R"([{"identifier":"a","blueprint":"service"}])"));
    BOOST_TEST_REQUIRE(first.at("next").is_string());
    auto const second = page(first.at("next"));
    BOOST_TEST(second.at("entities") == json::parse(R"([{"identifier":"b","blueprint":"service"}])"));
    BOOST_TEST(second.at("next").is_null());

    auto const too_many = server.port_call("POST", "/v1/blueprints/entities/datasource-entities",
                                           R"({"datasource_prefix":"","datasource_suffix":"","limit":5001})");
    BOOST_TEST(too_many.status == 422u);
}

BOOST_AUTO_TEST_CASE(search_by_identifier)
{
    emulator server;
    BOOST_TEST_REQUIRE(
        server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true", bulk_body({"a", "b", "c"})).status ==
        200u);
    BOOST_TEST_REQUIRE(
        server.port_call("POST", "/v1/blueprints/team/entities/bulk?upsert=true", bulk_body({"b"})).status == 200u);

    auto const answer = server.port_call("POST", "/v1/entities/search",
                                         R"({"combinator":"and","rules":[)"
                                         R"({"property":"$identifier","operator":"in","value":["b","c"]},)"
                                         R"({"property":"$blueprint","operator":"=","value":"service"},)"
                                         R"({"property":"$datasource","operator":"contains","value":"/demo-integration/"}]})");
    BOOST_TEST_REQUIRE(answer.status == 200u);
    auto const found = answer.json().at("entities").as_array();
    BOOST_TEST(identifiers_of(found) == (std::vector<std::string>{"b", "c"}), boost::test_tools::per_element());
    BOOST_TEST(found[0].at("blueprint") == json::value("service"));

    auto const projected = server.port_call("POST", "/v1/entities/search?include=identifier&include=blueprint",
                                            R"({"combinator":"or","rules":[{"property":"$identifier","operator":"=","value":"b"}]})");
    BOOST_TEST(projected.json().at("entities") ==
               json::parse(R"([{"identifier":"b","blueprint":"service"},{"identifier":"b","blueprint":"team"}])"));

    auto const invalid = server.port_call("POST", "/v1/entities/search",
                                          R"({"combinator":"and","rules":[{"property":"$identifier","operator":"~","value":1}]})");
    BOOST_TEST(invalid.status == 422u);
}

BOOST_AUTO_TEST_CASE(fault_503_twice_then_ok)
{
    emulator server;
    auto const added = server.call("POST", "/_emulator/faults",
                                   R"({"method":"POST","path":"/v1/blueprints/*/entities/bulk","status":503,)"
                                   R"("count":2,"delay_ms":0,"retry_after":1})");
    BOOST_TEST_REQUIRE(added.status == 201u);

    auto const target = "/v1/blueprints/service/entities/bulk?upsert=true";
    auto const first = server.port_call("POST", target, bulk_body({"a"}));
    BOOST_TEST(first.status == 503u);
    BOOST_TEST(first.header("Retry-After").value_or("") == "1");
    BOOST_TEST(server.port_call("POST", target, bulk_body({"a"})).status == 503u);
    BOOST_TEST(server.port_call("POST", target, bulk_body({"a"})).status == 200u);
    BOOST_TEST(identifiers_of(server.entities()) == (std::vector<std::string>{"a"}), boost::test_tools::per_element());

    std::vector<unsigned> bulk_statuses;
    auto const log = server.call("GET", "/_emulator/requests").json();
    for (auto const& record : log.as_array())
        if (record.at("path") == json::value("/v1/blueprints/service/entities/bulk"))
            bulk_statuses.push_back(static_cast<unsigned>(record.at("status").as_int64()));
    BOOST_TEST(bulk_statuses == (std::vector<unsigned>{503, 503, 200}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fault_for_one_identifier)
{
    emulator server;
    BOOST_TEST_REQUIRE(server.call("POST", "/_emulator/faults",
                                   R"({"path":"/v1/blueprints/*/entities/**","identifier":"slow","status":429,)"
                                   R"("count":1,"retry_after":"2"})")
                           .status == 201u);

    auto const target = "/v1/blueprints/service/entities/bulk?upsert=true";
    BOOST_TEST(server.port_call("POST", target, bulk_body({"other"})).status == 200u);
    auto const limited = server.port_call("POST", target, bulk_body({"other", "slow"}));
    BOOST_TEST(limited.status == 429u);
    BOOST_TEST(limited.header("Retry-After").value_or("") == "2");
    BOOST_TEST(server.port_call("POST", target, bulk_body({"slow"})).status == 200u);
    BOOST_TEST(server.call("GET", "/_emulator/faults").json() == json::array());
}

BOOST_AUTO_TEST_CASE(fault_resets_connection)
{
    emulator server;
    BOOST_TEST_REQUIRE(server.call("POST", "/_emulator/faults",
                                   R"({"path":"/v1/entities/search","reset_connection":true,"count":1})")
                           .status == 201u);
    auto const query = R"({"combinator":"and","rules":[]})";
    BOOST_CHECK_THROW(server.port_call("POST", "/v1/entities/search", query), boost::system::system_error);
    BOOST_TEST(server.port_call("POST", "/v1/entities/search", query).status == 200u);
}

BOOST_AUTO_TEST_CASE(rate_limit_answers_429)
{
    emulator server({"--rate-limit", "5/10"});
    auto const started = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    // The token request is the first of the five.
    ocean::http::fields headers;
    headers.set("Authorization", "Bearer " + server.token());
    for (int remaining = 3; remaining >= 0; --remaining) {
        auto const answer = server.call("GET", "/v1/integration/demo-integration", {}, headers);
        BOOST_TEST(answer.status == 404u);
        BOOST_TEST(answer.header("x-ratelimit-limit").value_or("") == "5");
        BOOST_TEST(answer.header("x-ratelimit-remaining").value_or("") == std::to_string(remaining));
        BOOST_TEST(answer.header("x-ratelimit-period").value_or("") == "10");
    }

    auto const limited = server.call("GET", "/v1/integration/demo-integration", {}, headers);
    BOOST_TEST(limited.status == 429u);
    BOOST_TEST(limited.header("x-ratelimit-remaining").value_or("") == "0");
    auto const retry_after = std::stoll(std::string(limited.header("Retry-After").value_or("0")));
    BOOST_TEST(retry_after >= 1);
    BOOST_TEST(retry_after <= 10);
    auto const reset = std::stoll(std::string(limited.header("x-ratelimit-reset").value_or("0")));
    BOOST_TEST(reset >= started);
    BOOST_TEST(reset <= started + 11);

    // /_emulator routes are outside the limit.
    BOOST_TEST(server.call("GET", "/_emulator/requests").status == 200u);
}

BOOST_AUTO_TEST_CASE(state_survives_restart)
{
    auto const state = unique_temp_path("state.json");
    std::filesystem::remove(state);
    json::array before;
    {
        emulator server({"--state", state});
        BOOST_TEST_REQUIRE(
            server.port_call("POST", "/v1/integration", R"({"installationId":"demo-integration","version":"1"})").status ==
            201u);
        BOOST_TEST_REQUIRE(
            server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true", bulk_body({"a", "b"})).status ==
            200u);
        before = server.entities();
        BOOST_TEST(server.process.terminate() == 0);
    }
    BOOST_TEST(std::filesystem::exists(state));
    BOOST_TEST(!std::filesystem::exists(state + ".tmp"));

    emulator restarted({"--state", state});
    BOOST_TEST(restarted.entities() == before);
    auto const integration = restarted.port_call("GET", "/v1/integration/demo-integration");
    BOOST_TEST(integration.status == 200u);
    BOOST_TEST(integration.json().at("integration").at("version") == json::value("1"));
    BOOST_TEST(restarted.process.terminate() == 0);
    std::filesystem::remove(state);
}

BOOST_AUTO_TEST_CASE(token_expires_after_ttl)
{
    emulator server({"--token-ttl", "1"});
    auto const answer = server.call("POST", "/v1/auth/access_token",
                                    R"({"clientId":"local-client-id","clientSecret":"local-client-secret"})");
    BOOST_TEST_REQUIRE(answer.status == 200u);
    BOOST_TEST(answer.json().at("expiresIn") == json::value(1));
    auto const token = std::string(answer.json().at("accessToken").as_string());

    ocean::http::fields headers;
    headers.set("Authorization", "Bearer " + token);
    BOOST_TEST(server.call("GET", "/v1/integration/demo-integration", {}, headers).status == 404u);

    std::this_thread::sleep_for(1100ms);
    auto const expired = server.call("GET", "/v1/integration/demo-integration", {}, headers);
    BOOST_TEST(expired.status == 401u);
    BOOST_TEST(std::string(expired.json().at("message").as_string()).find("expired") != std::string::npos);

    auto const fresh = server.token();
    BOOST_TEST(fresh != token);
}

BOOST_AUTO_TEST_CASE(relations_to_missing_entities)
{
    emulator server;
    BOOST_TEST_REQUIRE(server.port_call("POST", "/v1/blueprints",
                                        R"({"identifier":"service","title":"Service",)"
                                        R"("relations":{"owner":{"target":"team","many":false,"required":false}}})")
                           .status == 201u);
    auto const entity = R"({"entities":[{"identifier":"api","relations":{"owner":"platform"}}]})";

    auto const rejected = server.port_call("POST", "/v1/blueprints/service/entities/bulk?upsert=true", entity);
    BOOST_TEST_REQUIRE(rejected.status == 207u);
    auto const error = rejected.json().at("errors").at(0);
    BOOST_TEST(error.at("statusCode") == json::value(404));
    BOOST_TEST(error.at("error") == json::value("not_found"));
    BOOST_TEST(server.entities().empty());

    auto const created = server.port_call(
        "POST", "/v1/blueprints/service/entities/bulk?upsert=true&create_missing_related_entities=true", entity);
    BOOST_TEST(created.status == 200u);
    auto const stored = server.entities();
    BOOST_TEST_REQUIRE(stored.size() == 2u);
    BOOST_TEST(stored[0].at("blueprint") == json::value("service"));
    BOOST_TEST(stored[0].at("relations") == json::parse(R"({"owner":"platform"})"));
    BOOST_TEST(stored[1].at("blueprint") == json::value("team"));
    BOOST_TEST(stored[1].at("identifier") == json::value("platform"));
}

BOOST_AUTO_TEST_CASE(merge_keeps_other_properties)
{
    emulator server;
    auto const target = "/v1/blueprints/service/entities?upsert=true";
    BOOST_TEST_REQUIRE(server.port_call("POST", target, R"({"identifier":"a","title":"A","properties":{"x":1,"y":2}})")
                           .status == 201u);

    auto const merged =
        server.port_call("POST", std::string(target) + "&merge=true", R"({"identifier":"a","properties":{"y":3}})");
    BOOST_TEST_REQUIRE(merged.status == 200u);
    BOOST_TEST(merged.json().at("entity").at("properties") == json::parse(R"({"x":1,"y":3})"));
    BOOST_TEST(merged.json().at("entity").at("title") == json::value("A"));

    auto const replaced = server.port_call("POST", target, R"({"identifier":"a","properties":{"z":4}})");
    BOOST_TEST_REQUIRE(replaced.status == 200u);
    BOOST_TEST(replaced.json().at("entity").at("properties") == json::parse(R"({"z":4})"));
    BOOST_TEST(replaced.json().at("entity").at("title").is_null());
}

BOOST_AUTO_TEST_CASE(bad_argument_exits_2)
{
    ocean::test::child_process process(emulator_path(), {"--rate-limit", "five"});
    BOOST_TEST(process.wait(10s) == 2);
}

BOOST_AUTO_TEST_CASE(tls_cert_without_key_exits_2)
{
    ocean::test::child_process process(emulator_path(), {"--tls-cert", "/nonexistent/cert.pem"});
    BOOST_TEST(process.wait(10s) == 2);
}

BOOST_AUTO_TEST_CASE(unreadable_tls_files_exit_1)
{
    ocean::test::child_process process(
        emulator_path(), {"--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"});
    BOOST_TEST(process.wait(10s) == 1);
}

BOOST_AUTO_TEST_CASE(fault_out_of_range_is_422)
{
    emulator server;
    // Each value is rejected, naming it, instead of wrapping around or never ending.
    for (char const* body : {R"({"path":"/v1/organization","status":100})",
                             R"({"path":"/v1/organization","status":101})",
                             R"({"path":"/v1/organization","delay_ms":18446744073709551615})",
                             R"({"path":"/v1/organization","count":18446744073709551615})",
                             R"({"path":"/v1/organization","duration_ms":10000000000000})"}) {
        BOOST_TEST_CONTEXT(body)
        {
            auto const reply = server.call("POST", "/_emulator/faults", body);
            BOOST_TEST(reply.status == 422u);
            BOOST_TEST(reply.body.find("invalid fault") != std::string::npos);
        }
    }
    BOOST_TEST(server.call("GET", "/_emulator/faults").json() == json::array());
}
