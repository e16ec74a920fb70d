#define BOOST_TEST_MODULE lifecycle_resync
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
#include <set>
#include <thread>

#if defined(__SANITIZE_ADDRESS__)
#define OCEAN_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OCEAN_TEST_UNDER_ASAN 1
#endif
#endif
#ifndef OCEAN_TEST_UNDER_ASAN
#define OCEAN_TEST_UNDER_ASAN 0
#endif

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using ocean::test::child_process;
using ocean::test::port_of;
using ocean::test::required_env;
using ocean::test::http_call;
using ocean::test::http_call_options;

namespace {

// Peak resident set size of this process in KiB (VmHWM), or 0 when /proc is unavailable.
long peak_rss_kib()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmHWM:"))
            return std::stol(line.substr(6));
    return 0;
}

void reset_peak_rss()
{
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0 and later).
    std::ofstream("/proc/self/clear_refs") << "5";
}

constexpr char const* port_app_config = R"(deleteDependentEntities: true
createMissingRelatedEntities: true
enableMergeEntity: true
entityDeletionThreshold: 0.9
resources:
  - kind: item
    selector:
      query: .hidden != true
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"lifecycleItem"'
          properties:
            size: .size
  - kind: group
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"lifecycleGroup"'
)";

// An in-process integration on its own io_context thread, against a real emulator process.
struct app_fixture {
    explicit app_fixture(std::string listener = "WEBHOOKS_ONLY", std::string identifier = "lifecycle-test")
        : emulator(required_env("OCEAN_PORT_EMULATOR"), {"--listen", "127.0.0.1:0"}),
          emulator_port(port_of(emulator.wait_for_line("ocean-port-emulator listening on", 10s))),
          resources(std::filesystem::temp_directory_path() /
                    ("ocean-lifecycle-" + std::to_string(::getpid()) + "-" + std::to_string(emulator_port)))
    {
        std::filesystem::create_directories(resources);
        std::ofstream(resources / "port-app-config.yml") << port_app_config;
        std::map<std::string, std::string> variables{
            {"OCEAN__PORT__BASE_URL", "http://127.0.0.1:" + std::to_string(emulator_port)},
            {"OCEAN__PORT__CLIENT_ID", "local-client-id"},
            {"OCEAN__PORT__CLIENT_SECRET", "local-client-secret"},
            {"OCEAN__INTEGRATION__IDENTIFIER", identifier},
            {"OCEAN__INTEGRATION__TYPE", "lifecycle"},
            {"OCEAN__EVENT_LISTENER__TYPE", listener},
            {"OCEAN__RESOURCES_PATH", resources.string()},
            {"APPLICATION__HOST", "127.0.0.1"},
            {"APPLICATION__PORT", "0"},
        };
        config = ocean::integration_config::from_values(variables);
        app.emplace(io.get_executor(), config);
    }

    ~app_fixture()
    {
        if (runner.joinable()) {
            app->stop();
            if (run_done.valid())
                run_done.wait_for(30s);
            // Idle keep-alive connections of the Port client would keep run() going.
            io.stop();
            runner.join();
        }
        std::error_code ignored;
        std::filesystem::remove_all(resources, ignored);
    }

    // Starts async_run on the io_context thread and waits for /health/ready.
    void start()
    {
        BOOST_REQUIRE(!app->listen());
        run_done = app->async_run(asio::use_future);
        runner = std::thread([this] { io.run(); });
        for (int i = 0; i < 400; ++i) {
            http_call_options options;
            options.target = "/health/ready";
            if (http_call("127.0.0.1", app->local_endpoint().port(), options).status == 200)
                return;
            std::this_thread::sleep_for(50ms);
        }
        BOOST_FAIL("the integration did not become ready within 20 s");
    }

    ocean::resync_result resync()
    {
        auto future = app->async_sync_raw_all(asio::use_future);
        BOOST_REQUIRE(future.wait_for(240s) == std::future_status::ready);
        return future.get();
    }

    json::value emulator_get(std::string const& target) const
    {
        http_call_options options;
        options.target = target;
        options.timeout = 60s;
        auto const result = http_call("127.0.0.1", emulator_port, options);
        BOOST_REQUIRE_EQUAL(result.status, 200U);
        return result.json();
    }

    std::set<std::string> identifiers(std::string const& blueprint) const
    {
        std::set<std::string> out;
        auto const entities = emulator_get("/_emulator/entities?blueprint=" + blueprint);
        for (auto const& e : entities.as_array())
            out.insert(std::string(e.at("identifier").as_string()));
        return out;
    }

    std::string resync_status() const
    {
        auto const integrations = emulator_get("/_emulator/integrations");
        for (auto const& integration : integrations.as_array()) {
            auto const& state = integration.at("resyncState").at("status");
            return state.is_string() ? std::string(state.as_string()) : std::string("null");
        }
        return "none";
    }

    child_process emulator;
    std::uint16_t emulator_port;
    std::filesystem::path resources;
    ocean::integration_config config;
    asio::io_context io;
    std::optional<ocean::integration> app;
    std::future<void> run_done;
    std::thread runner;
};

json::value item(std::size_t n, bool hidden = false)
{
    json::object out{{"id", "item-" + std::to_string(n)}, {"name", "Item " + std::to_string(n)}, {"size", n}};
    if (hidden)
        out["hidden"] = true;
    return out;
}

json::value group(std::string const& id)
{
    return json::object{{"id", id}, {"name", "Group " + id}};
}

// A source whose content the test changes between resyncs (only while no resync runs).
struct source {
    std::vector<std::string> groups{"g1", "g2"};
    std::size_t items = 50;
    std::set<std::size_t> removed;
    /// Items sent with `hidden: true`, which the selector rejects.
    std::set<std::size_t> hidden;
};

void register_source(app_fixture& f, source& s)
{
    f.app->on_resync("item", [&s](std::string const&, ocean::batch_sink& sink) -> asio::awaitable<void> {
        ocean::raw_batch batch;
        for (std::size_t n = 0; n < s.items; ++n) {
            if (s.removed.contains(n))
                continue;
            batch.push_back(item(n, s.hidden.contains(n)));
            if (batch.size() == 7) {
                co_await sink.async_write(std::move(batch));
                batch.clear();
            }
        }
        if (!batch.empty())
            co_await sink.async_write(std::move(batch));
    });
    f.app->on_resync("group", [&s](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        ocean::raw_batch batch;
        for (auto const& id : s.groups)
            batch.push_back(group(id));
        co_return batch;
    });
}

} // namespace

BOOST_AUTO_TEST_CASE(resync_streams_100k_items_bounded_memory)
{
    app_fixture f;
    constexpr std::size_t total = 100'000;
    constexpr std::size_t batch_size = 1'000;
    std::size_t largest_batch = 0;
    f.app->on_resync("item", [&](std::string const&, ocean::batch_sink& sink) -> asio::awaitable<void> {
        for (std::size_t first = 0; first < total; first += batch_size) {
            ocean::raw_batch batch;
            batch.reserve(batch_size);
            for (std::size_t n = first; n < first + batch_size; ++n)
                batch.push_back(item(n));
            largest_batch = std::max(largest_batch, batch.size());
            co_await sink.async_write(std::move(batch));
        }
    });
    f.app->on_resync("group", [](std::string const&) -> asio::awaitable<ocean::raw_batch> { co_return ocean::raw_batch{}; });
    f.start();

    reset_peak_rss();
    auto const before = peak_rss_kib();
    auto const result = f.resync();
    auto const after = peak_rss_kib();
    BOOST_TEST_MESSAGE("peak RSS (VmHWM) before the resync: " << before << " KiB, after: " << after
                                                              << " KiB, growth: " << (after - before) << " KiB");

    BOOST_TEST(result.ok());
    BOOST_REQUIRE_EQUAL(result.kinds.size(), 2U);
    BOOST_TEST(result.kinds[0].kind == "item");
    BOOST_TEST(result.kinds[0].items == total);
    BOOST_TEST(result.kinds[0].upserted == total);
    BOOST_TEST(result.kinds[0].failures.empty());
    BOOST_TEST(largest_batch == batch_size);

    // Reference: the same 100,000 raw items held at once, as a resync without streaming would
    // keep them before mapping. The streamed resync keeps two batches and the produced keys, so
    // its whole growth stays below what the raw items alone take.
    reset_peak_rss();
    auto const reference_before = peak_rss_kib();
    long reference_growth = 0;
    {
        ocean::raw_batch all;
        all.reserve(total);
        for (std::size_t n = 0; n < total; ++n)
            all.push_back(item(n));
        reference_growth = peak_rss_kib() - reference_before;
        BOOST_TEST(all.size() == total);
    }
    BOOST_TEST_MESSAGE("peak RSS growth for the 100,000 raw items held at once: " << reference_growth << " KiB");
#if OCEAN_TEST_UNDER_ASAN
    // AddressSanitizer keeps freed memory in quarantine (256 MiB by default), so peak RSS says
    // nothing about the resync's own footprint there; the normal build checks it.
    BOOST_TEST_MESSAGE("memory bound not checked under AddressSanitizer");
#else
    BOOST_TEST(after - before < reference_growth);
#endif

    auto const stored = f.emulator_get("/_emulator/entities?blueprint=lifecycleItem").as_array();
    BOOST_TEST(stored.size() == total);
    std::set<std::string> ids;
    for (auto const& e : stored)
        ids.insert(std::string(e.at("identifier").as_string()));
    BOOST_TEST(ids.size() == total);
    BOOST_TEST(ids.contains("item-0"));
    BOOST_TEST(ids.contains("item-99999"));
    for (auto const& e : stored) {
        if (e.at("identifier").as_string() == "item-4242") {
            BOOST_TEST(e.at("title").as_string() == "Item 4242");
            BOOST_TEST(e.at("properties").at("size").to_number<std::int64_t>() == 4242);
            BOOST_TEST(e.at("datasource").as_string() == "port-ocean/lifecycle/0.1.0/lifecycle-test/exporter");
        }
    }
    BOOST_TEST(f.resync_status() == "completed");
}

BOOST_AUTO_TEST_CASE(resync_deletes_item_removed_at_source)
{
    app_fixture f;
    source s;
    register_source(f, s);
    f.start();

    auto const first = f.resync();
    BOOST_TEST(first.ok());
    BOOST_TEST(first.deleted == 0U);
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 50U);
    BOOST_TEST(f.identifiers("lifecycleGroup").size() == 2U);

    s.removed = {3, 17};
    s.groups = {"g1"};
    auto const second = f.resync();
    BOOST_TEST(second.ok());
    BOOST_TEST(second.reconciled);
    BOOST_TEST(second.stale == 3U);
    BOOST_TEST(second.deleted == 3U);
    auto const items = f.identifiers("lifecycleItem");
    BOOST_TEST(items.size() == 48U);
    BOOST_TEST(!items.contains("item-3"));
    BOOST_TEST(!items.contains("item-17"));
    BOOST_TEST(items.contains("item-4"));
    BOOST_TEST((f.identifiers("lifecycleGroup") == std::set<std::string>{"g1"}));
    BOOST_TEST(f.resync_status() == "completed");
}

BOOST_AUTO_TEST_CASE(resync_deletes_item_failing_selector)
{
    app_fixture f;
    source s;
    register_source(f, s);
    f.start();
    BOOST_TEST(f.resync().ok());
    BOOST_TEST(f.identifiers("lifecycleItem").contains("item-5"));

    // An item that now fails the selector is not produced, so reconciliation removes it.
    s.hidden = {5};
    auto const second = f.resync();
    BOOST_TEST(second.ok());
    BOOST_REQUIRE_EQUAL(second.kinds.size(), 2U);
    BOOST_TEST(second.kinds[0].skipped == 1U);
    BOOST_TEST(second.deleted == 1U);
    BOOST_TEST(!f.identifiers("lifecycleItem").contains("item-5"));
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 49U);
}

BOOST_AUTO_TEST_CASE(resync_failed_kind_deletes_nothing)
{
    app_fixture f;
    source s;
    register_source(f, s);
    bool fail = false;
    f.app->on_resync("group", [&fail](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        if (fail)
            throw std::runtime_error("the groups API returned HTTP 500");
        co_return ocean::raw_batch{};
    });
    f.start();
    BOOST_TEST(f.resync().ok());

    s.removed = {1, 2, 3};
    fail = true;
    auto const second = f.resync();
    BOOST_TEST((second.status == ocean::resync_result::state::failed));
    BOOST_TEST(!second.reconciled);
    BOOST_TEST(second.deleted == 0U);
    BOOST_REQUIRE_EQUAL(second.kinds.size(), 2U);
    BOOST_TEST(!second.kinds[0].error.has_value());
    BOOST_REQUIRE(second.kinds[1].error.has_value());
    BOOST_TEST(second.kinds[1].error->find("HTTP 500") != std::string::npos);
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 50U);
    BOOST_TEST(f.resync_status() == "failed");
}

BOOST_AUTO_TEST_CASE(resync_stream_failure_deletes_nothing)
{
    app_fixture f;
    source s;
    register_source(f, s);
    f.start();
    BOOST_TEST(f.resync().ok());

    // A stream that fails after its first batch: the kind fails, and nothing is deleted although
    // most items were not produced.
    bool fail = true;
    f.app->on_resync("item", [&fail](std::string const&, ocean::batch_sink& sink) -> asio::awaitable<void> {
        if (!fail)
            co_return;
        ocean::raw_batch batch;
        batch.push_back(item(0));
        co_await sink.async_write(std::move(batch));
        throw std::runtime_error("page 2 of items timed out");
    });
    auto const second = f.resync();
    BOOST_TEST((second.status == ocean::resync_result::state::failed));
    BOOST_TEST(second.deleted == 0U);
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 50U);
}

BOOST_AUTO_TEST_CASE(resync_deletion_above_threshold_deletes_nothing)
{
    app_fixture f;
    source s;
    s.items = 100;
    register_source(f, s);
    f.start();
    BOOST_TEST(f.resync().ok());
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 100U);

    // 95 of 102 entities would go: 93 % is above the default threshold of 90 %.
    for (std::size_t n = 5; n < 100; ++n)
        s.removed.insert(n);
    auto const second = f.resync();
    BOOST_TEST(second.ok());
    BOOST_TEST(!second.reconciled);
    BOOST_TEST(second.stale == 95U);
    BOOST_TEST(second.deleted == 0U);
    BOOST_TEST(second.reconciliation_note.find("entityDeletionThreshold") != std::string::npos);
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 100U);
}

BOOST_AUTO_TEST_CASE(resync_newer_cancels_running)
{
    app_fixture f;
    source s;
    register_source(f, s);
    f.start();
    BOOST_TEST(f.resync().ok());

    // The first resync blocks in a group handler; a second resync cancels it, and the first,
    // although it saw five items fewer, deletes nothing.
    auto gate = std::make_shared<asio::steady_timer>(f.io, asio::steady_timer::time_point::max());
    bool block = true;
    std::promise<void> blocked;
    s.removed = {0, 1, 2, 3, 4};
    f.app->on_resync("group", [&](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        if (block) {
            block = false;
            blocked.set_value();
            co_await gate->async_wait(asio::use_awaitable);
        }
        co_return ocean::raw_batch{};
    });
    auto first = f.app->async_sync_raw_all(asio::use_future);
    BOOST_REQUIRE(blocked.get_future().wait_for(60s) == std::future_status::ready);
    auto second = f.app->async_sync_raw_all(asio::use_future);

    BOOST_REQUIRE(first.wait_for(60s) == std::future_status::ready);
    try {
        first.get();
        BOOST_FAIL("the cancelled resync completed without an error");
    } catch (boost::system::system_error const& e) {
        BOOST_TEST(e.code() == asio::error::operation_aborted);
    }
    BOOST_REQUIRE(second.wait_for(60s) == std::future_status::ready);
    auto const result = second.get();
    BOOST_TEST(result.ok());
    // The first group handler still lists both groups; only the five removed items are stale.
    BOOST_TEST(result.deleted == 5U);
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 45U);
    BOOST_TEST(f.identifiers("lifecycleGroup").size() == 2U);
}

BOOST_AUTO_TEST_CASE(resync_stop_reports_aborted)
{
    app_fixture f;
    source s;
    register_source(f, s);
    std::promise<void> blocked;
    bool signalled = false;
    f.app->on_resync("group", [&](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        if (!signalled) {
            signalled = true;
            blocked.set_value();
        }
        asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
        co_await forever.async_wait(asio::use_awaitable);
        co_return ocean::raw_batch{};
    });
    f.start();
    auto running = f.app->async_sync_raw_all(asio::use_future);
    BOOST_REQUIRE(blocked.get_future().wait_for(60s) == std::future_status::ready);
    BOOST_TEST(f.resync_status() == "running");

    f.app->stop();
    BOOST_REQUIRE(running.wait_for(60s) == std::future_status::ready);
    BOOST_CHECK_THROW(running.get(), boost::system::system_error);
    BOOST_REQUIRE(f.run_done.wait_for(60s) == std::future_status::ready);
    BOOST_CHECK_NO_THROW(f.run_done.get());
    BOOST_TEST(f.resync_status() == "aborted");
}

BOOST_AUTO_TEST_CASE(resync_hooks_run_in_order)
{
    app_fixture f;
    source s;
    register_source(f, s);
    std::vector<std::string> calls;
    bool fail_start = false;
    f.app->on_resync_start([&]() -> asio::awaitable<void> {
        calls.push_back("start");
        if (fail_start)
            throw std::runtime_error("the catalog snapshot could not be read");
        co_return;
    });
    f.app->on_resync_complete([&]() -> asio::awaitable<void> {
        calls.push_back("complete");
        co_return;
    });
    f.start();
    BOOST_TEST(f.resync().ok());
    BOOST_TEST((calls == std::vector<std::string>{"start", "complete"}));

    // A failing start hook leaves the catalog state unknown: the kinds still run, nothing is
    // deleted, and the complete hooks do not run.
    calls.clear();
    fail_start = true;
    s.removed = {1};
    auto const second = f.resync();
    BOOST_TEST((second.status == ocean::resync_result::state::failed));
    BOOST_TEST(second.deleted == 0U);
    BOOST_REQUIRE_EQUAL(second.kinds.size(), 2U);
    BOOST_TEST(second.kinds[0].items == 49U);
    BOOST_TEST((calls == std::vector<std::string>{"start"}));
    BOOST_TEST(f.identifiers("lifecycleItem").contains("item-1"));
}

BOOST_AUTO_TEST_CASE(resync_handler_returns_item_stream)
{
    app_fixture f;
    f.app->on_resync("item", [](std::string const& kind) {
        return ocean::raw_item_stream([kind](ocean::batch_sink& sink) -> asio::awaitable<void> {
            BOOST_TEST(kind == "item");
            BOOST_TEST(sink.kind() == "item");
            for (std::size_t page = 0; page < 3; ++page) {
                ocean::raw_batch batch;
                for (std::size_t n = page * 10; n < page * 10 + 10; ++n)
                    batch.push_back(item(n));
                co_await sink.async_write(std::move(batch));
            }
        });
    });
    f.app->on_resync("group", [](std::string const&) -> asio::awaitable<ocean::raw_batch> { co_return ocean::raw_batch{}; });
    f.start();

    auto const result = f.resync();
    BOOST_TEST(result.ok());
    BOOST_REQUIRE_EQUAL(result.kinds.size(), 2U);
    BOOST_TEST(result.kinds[0].items == 30U);
    BOOST_TEST(f.identifiers("lifecycleItem").size() == 30U);
}
