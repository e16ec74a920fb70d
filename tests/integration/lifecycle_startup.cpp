#define BOOST_TEST_MODULE lifecycle_startup
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/test_env.hpp"
#include "common/http_call.hpp"

#include <ocean/ocean.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using ocean::test::child_process;
using ocean::test::port_of;
using ocean::test::required_env;
using ocean::test::http_call;
using ocean::test::http_call_options;

namespace {

constexpr char const* port_app_config = R"(resources:
  - kind: widget
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"startupWidget"'
)";

constexpr char const* blueprints = R"([
  {"identifier": "startupOwner", "title": "Owner", "schema": {"properties": {}}},
  {"identifier": "startupWidget", "title": "Widget", "schema": {"properties": {}},
   "relations": {"owner": {"title": "Owner", "target": "startupOwner", "many": false, "required": false}}}
])";

struct emulator_fixture {
    emulator_fixture()
        : emulator(required_env("OCEAN_PORT_EMULATOR"), {"--listen", "127.0.0.1:0"}),
          port(port_of(emulator.wait_for_line("ocean-port-emulator listening on", 10s))),
          resources(std::filesystem::temp_directory_path() /
                    ("ocean-startup-" + std::to_string(::getpid()) + "-" + std::to_string(port)))
    {
        std::filesystem::create_directories(resources);
        std::ofstream(resources / "port-app-config.yml") << port_app_config;
        std::ofstream(resources / "blueprints.json") << blueprints;
    }

    ~emulator_fixture()
    {
        std::error_code ignored;
        std::filesystem::remove_all(resources, ignored);
    }

    ocean::integration_config config(std::string const& identifier, std::string const& version = "0.1.0",
                                     std::string const& listener = "WEBHOOKS_ONLY") const
    {
        return ocean::integration_config::from_values({
            {"OCEAN__PORT__BASE_URL", "http://127.0.0.1:" + std::to_string(port)},
            {"OCEAN__PORT__CLIENT_ID", "local-client-id"},
            {"OCEAN__PORT__CLIENT_SECRET", "local-client-secret"},
            {"OCEAN__INTEGRATION__IDENTIFIER", identifier},
            {"OCEAN__INTEGRATION__TYPE", "startup"},
            {"OCEAN__INTEGRATION__VERSION", version},
            {"OCEAN__EVENT_LISTENER__TYPE", listener},
            {"OCEAN__BASE_URL", "http://127.0.0.1:9"},
            {"OCEAN__RESOURCES_PATH", resources.string()},
            {"APPLICATION__HOST", "127.0.0.1"},
            {"APPLICATION__PORT", "0"},
        });
    }

    json::value get(std::string const& target) const
    {
        http_call_options options;
        options.target = target;
        auto const reply = http_call("127.0.0.1", port, options);
        BOOST_REQUIRE_EQUAL(reply.status, 200U);
        return reply.json();
    }

    json::object integration(std::string const& identifier) const
    {
        auto const all = get("/_emulator/integrations");
        for (auto const& i : all.as_array())
            if (i.at("identifier").as_string() == identifier)
                return i.as_object();
        BOOST_FAIL("integration " << identifier << " is not in the emulator");
        return {};
    }

    // Counts logged requests with this method whose path starts with `prefix`.
    std::size_t requests(std::string const& method, std::string const& prefix) const
    {
        std::size_t n = 0;
        auto const log = get("/_emulator/requests");
        for (auto const& r : log.as_array())
            if (r.at("method").as_string() == method && r.at("path").as_string().subview(0, prefix.size()) == prefix)
                ++n;
        return n;
    }

    child_process emulator;
    std::uint16_t port;
    std::filesystem::path resources;
};

// Runs one integration on a background thread until it is ready, then hands it to `check`.
struct started_app {
    explicit started_app(ocean::integration_config config) : app(io.get_executor(), std::move(config)) {}

    void start()
    {
        BOOST_REQUIRE(!app.listen());
        run_done = app.async_run(asio::use_future);
        runner = std::thread([this] { io.run(); });
        for (int i = 0; i < 400 && health() != 200; ++i)
            std::this_thread::sleep_for(50ms);
    }

    unsigned health() const
    {
        http_call_options options;
        options.target = "/health/ready";
        return http_call("127.0.0.1", app.local_endpoint().port(), options).status;
    }

    ocean::test::http_result post(std::string const& target) const
    {
        http_call_options options;
        options.method = "POST";
        options.target = target;
        return http_call("127.0.0.1", app.local_endpoint().port(), options);
    }

    void stop()
    {
        app.stop();
        BOOST_REQUIRE(run_done.wait_for(30s) == std::future_status::ready);
        BOOST_CHECK_NO_THROW(run_done.get());
        io.stop();
        runner.join();
    }

    ~started_app()
    {
        if (runner.joinable()) {
            app.stop();
            run_done.wait_for(30s);
            io.stop();
            runner.join();
        }
    }

    asio::io_context io;
    ocean::integration app;
    std::future<void> run_done;
    std::thread runner;
};

} // namespace

BOOST_AUTO_TEST_CASE(startup_creates_integration_and_blueprints)
{
    emulator_fixture port;
    started_app first(port.config("startup-a"));
    first.start();
    BOOST_TEST(first.health() == 200U);

    auto const record = port.integration("startup-a");
    BOOST_TEST(record.at("version").as_string() == "0.1.0");
    BOOST_TEST(record.at("installationAppType").as_string() == "startup");
    BOOST_TEST(record.at("arePortResourcesInitialized").as_bool());

    auto const stored = port.get("/_emulator/blueprints");
    BOOST_REQUIRE_EQUAL(stored.as_array().size(), 2U);
    for (auto const& b : stored.as_array())
        if (b.at("identifier").as_string() == "startupWidget")
            BOOST_TEST(b.at("relations").at("owner").at("target").as_string() == "startupOwner");
    // Both bare blueprints first, then the relation in a PATCH of its own.
    BOOST_TEST(port.requests("POST", "/v1/blueprints") == 2U);
    BOOST_TEST(port.requests("PATCH", "/v1/blueprints/startupWidget") == 1U);
    first.stop();
}

BOOST_AUTO_TEST_CASE(startup_patches_changed_fields)
{
    emulator_fixture port;
    {
        started_app first(port.config("startup-b", "0.1.0"));
        first.start();
        first.stop();
    }
    auto const patches_before = port.requests("PATCH", "/v1/integration/startup-b");

    started_app second(port.config("startup-b", "0.2.0"));
    second.start();
    BOOST_TEST(second.health() == 200U);
    BOOST_TEST(port.integration("startup-b").at("version").as_string() == "0.2.0");
    BOOST_TEST(port.requests("PATCH", "/v1/integration/startup-b") == patches_before + 1);
    // Resources were initialised by the first start; no blueprint is created again.
    BOOST_TEST(port.requests("POST", "/v1/blueprints") == 2U);
    second.stop();

    started_app third(port.config("startup-b", "0.2.0"));
    third.start();
    BOOST_TEST(port.requests("PATCH", "/v1/integration/startup-b") == patches_before + 1);
    third.stop();
}

BOOST_AUTO_TEST_CASE(startup_existing_blueprint_skips_defaults)
{
    emulator_fixture port;
    {
        started_app first(port.config("startup-c"));
        first.start();
        first.stop();
    }
    // Another integration with the same defaults finds the blueprints and creates none.
    started_app second(port.config("startup-d"));
    second.start();
    BOOST_TEST(second.health() == 200U);
    BOOST_TEST(port.requests("POST", "/v1/blueprints") == 2U);
    BOOST_TEST(port.integration("startup-d").at("arePortResourcesInitialized").as_bool());
    second.stop();
}

BOOST_AUTO_TEST_CASE(startup_failing_hook_keeps_serving)
{
    emulator_fixture port;
    started_app s(port.config("startup-e"));
    bool later_hook_ran = false;
    s.app.on_start([]() -> asio::awaitable<void> {
        throw std::runtime_error("the third party refused the webhook registration");
        co_return;
    });
    s.app.on_start([&]() -> asio::awaitable<void> {
        later_hook_ran = true;
        co_return;
    });
    s.start();
    BOOST_TEST(s.health() == 200U);
    BOOST_TEST(later_hook_ran);
    s.stop();
}

BOOST_AUTO_TEST_CASE(startup_webhook_listener_resyncs_on_post)
{
    emulator_fixture port;
    started_app s(port.config("startup-f", "0.1.0", "WEBHOOK"));
    std::atomic<int> resyncs = 0;
    s.app.on_resync("widget", [&](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        ++resyncs;
        ocean::raw_batch items;
        items.push_back(json::object{{"id", "w1"}, {"name", "Widget 1"}});
        co_return items;
    });
    s.start();
    BOOST_TEST(resyncs == 0);
    auto const destination = port.integration("startup-f").at("changelogDestination");
    BOOST_TEST(destination.at("type").as_string() == "WEBHOOK");
    BOOST_TEST(destination.at("url").as_string() == "http://127.0.0.1:9/resync");

    auto const reply = s.post("/resync");
    BOOST_TEST(reply.status == 202U);
    for (int i = 0; i < 200 && port.integration("startup-f").at("resyncState").at("status") != "completed"; ++i)
        std::this_thread::sleep_for(50ms);
    BOOST_TEST(resyncs == 1);
    BOOST_TEST(port.get("/_emulator/entities?blueprint=startupWidget").as_array().size() == 1U);
    s.stop();
}

BOOST_AUTO_TEST_CASE(startup_missing_port_app_config_fails_run)
{
    emulator_fixture port;
    std::filesystem::remove(port.resources / "port-app-config.yml");
    asio::io_context io;
    ocean::integration app(io.get_executor(), port.config("startup-g"));
    auto done = app.async_run(asio::use_future);
    io.run_for(30s);
    BOOST_REQUIRE((done.wait_for(0s) == std::future_status::ready));
    try {
        done.get();
        BOOST_FAIL("async_run succeeded without any port-app-config");
    } catch (boost::system::system_error const& e) {
        BOOST_TEST(e.code() == make_error_code(ocean::error::invalid_config));
    }
}
