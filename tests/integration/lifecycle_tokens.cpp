#define BOOST_TEST_MODULE lifecycle_tokens
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
using boost::system::error_code;
using ocean::test::child_process;
using ocean::test::port_of;
using ocean::test::required_env;
using ocean::test::http_call;
using ocean::test::http_call_options;

namespace {

constexpr char const* port_app_config = R"(resources:
  - kind: item
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"tokenItem"'
)";

// The emulator as a child process, and a resources folder with the port-app-config above.
struct port_side {
    port_side()
        : emulator(required_env("OCEAN_PORT_EMULATOR"), {"--listen", "127.0.0.1:0"}),
          port(port_of(emulator.wait_for_line("ocean-port-emulator listening on", 10s))),
          resources(std::filesystem::temp_directory_path() /
                    ("ocean-tokens-" + std::to_string(::getpid()) + "-" + std::to_string(port)))
    {
        std::filesystem::create_directories(resources);
        std::ofstream(resources / "port-app-config.yml") << port_app_config;
    }

    ~port_side()
    {
        std::error_code ignored;
        std::filesystem::remove_all(resources, ignored);
    }

    ocean::integration_config config(std::string const& identifier) const
    {
        return ocean::integration_config::from_values({
            {"OCEAN__PORT__BASE_URL", "http://127.0.0.1:" + std::to_string(port)},
            {"OCEAN__PORT__CLIENT_ID", "local-client-id"},
            {"OCEAN__PORT__CLIENT_SECRET", "local-client-secret"},
            {"OCEAN__INTEGRATION__IDENTIFIER", identifier},
            {"OCEAN__INTEGRATION__TYPE", "tokens"},
            {"OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY"},
            {"OCEAN__RESOURCES_PATH", resources.string()},
            {"APPLICATION__HOST", "127.0.0.1"},
            {"APPLICATION__PORT", "0"},
        });
    }

    json::array entities(std::string const& blueprint) const
    {
        http_call_options options;
        options.target = "/_emulator/entities?blueprint=" + blueprint;
        return http_call("127.0.0.1", port, options).json().as_array();
    }

    child_process emulator;
    std::uint16_t port;
    std::filesystem::path resources;
};

std::size_t get_integrations_count(port_side const& port)
{
    http_call_options options;
    options.target = "/_emulator/integrations";
    return http_call("127.0.0.1", port.port, options).json().as_array().size();
}

bool ready(ocean::integration const& app)
{
    http_call_options options;
    options.target = "/health/ready";
    return http_call("127.0.0.1", app.local_endpoint().port(), options).status == 200;
}

// One integration running on its own io_context thread.
struct running_app {
    explicit running_app(ocean::integration_config config) : app(io.get_executor(), std::move(config))
    {
        app.on_resync("item", [this](std::string const&, ocean::batch_sink& sink) -> asio::awaitable<void> {
            co_await write_with_every_token(sink);
        });
    }

    void start()
    {
        BOOST_REQUIRE(!app.listen());
        run_done = app.async_run(asio::use_future);
        runner = std::thread([this] { io.run(); });
        for (int i = 0; i < 400 && !ready(app); ++i)
            std::this_thread::sleep_for(50ms);
        BOOST_REQUIRE(ready(app));
    }

    ~running_app()
    {
        app.stop();
        if (run_done.valid())
            run_done.wait_for(30s);
        io.stop();
        if (runner.joinable())
            runner.join();
    }

    // Writes four batches, one per completion token style.
    asio::awaitable<void> write_with_every_token(ocean::batch_sink& sink)
    {
        auto executor = co_await asio::this_coro::executor;
        auto batch = [](std::string id) {
            ocean::raw_batch b;
            b.push_back(json::object{{"id", id}, {"name", id}});
            return b;
        };

        co_await sink.async_write(batch("sink-awaitable"), asio::use_awaitable);

        auto deferred = sink.async_write(batch("sink-deferred"), asio::deferred);
        co_await std::move(deferred)(asio::use_awaitable);

        asio::steady_timer done(executor, asio::steady_timer::time_point::max());
        error_code callback_error = asio::error::would_block;
        sink.async_write(batch("sink-callback"), [&](error_code ec) {
            callback_error = ec;
            done.cancel();
        });
        co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
        if (callback_error)
            throw boost::system::system_error(callback_error, "callback write");

        // A future is polled, not waited for: this thread is the one that completes it.
        auto future = sink.async_write(batch("sink-future"), asio::use_future);
        asio::steady_timer poll(executor);
        while (future.wait_for(0s) != std::future_status::ready) {
            poll.expires_after(5ms);
            co_await poll.async_wait(asio::use_awaitable);
        }
        future.get();
        sink_writes = 4;
    }

    asio::io_context io;
    ocean::integration app;
    std::future<void> run_done;
    std::thread runner;
    int sink_writes = 0;
};

// Runs `op(token)` with each of the four token styles and returns the (error, value) each gave.
template <class T, class Op>
std::vector<std::pair<error_code, T>> with_every_token(asio::io_context& io, Op op)
{
    std::vector<std::pair<error_code, T>> out;

    std::promise<std::pair<error_code, T>> by_callback;
    op([&by_callback](error_code ec, T value) { by_callback.set_value({ec, std::move(value)}); });
    out.push_back(by_callback.get_future().get());

    auto future = op(asio::use_future);
    try {
        out.emplace_back(error_code{}, future.get());
    } catch (boost::system::system_error const& e) {
        out.emplace_back(e.code(), T{});
    }

    std::promise<std::pair<error_code, T>> by_deferred;
    auto deferred = op(asio::deferred);
    std::move(deferred)([&by_deferred](error_code ec, T value) { by_deferred.set_value({ec, std::move(value)}); });
    out.push_back(by_deferred.get_future().get());

    std::promise<std::pair<error_code, T>> by_coroutine;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto [ec, value] = co_await op(asio::as_tuple(asio::use_awaitable));
            by_coroutine.set_value({ec, std::move(value)});
        },
        asio::detached);
    out.push_back(by_coroutine.get_future().get());
    return out;
}

std::vector<json::value> one_item(std::string const& id)
{
    std::vector<json::value> items;
    items.push_back(json::object{{"id", id}, {"name", id}});
    return items;
}

} // namespace

BOOST_AUTO_TEST_CASE(tokens_register_raw_and_unregister_raw)
{
    port_side port;
    running_app r(port.config("tokens-raw"));
    r.start();

    int n = 0;
    auto const registered = with_every_token<ocean::sync_result>(r.io, [&](auto token) {
        return r.app.async_register_raw("item", one_item("raw-" + std::to_string(n++)), std::move(token));
    });
    for (auto const& [ec, result] : registered) {
        BOOST_TEST(!ec);
        BOOST_TEST(result.upserted == 1U);
    }
    BOOST_TEST(port.entities("tokenItem").size() == 4U);

    n = 0;
    auto const unregistered = with_every_token<ocean::sync_result>(r.io, [&](auto token) {
        return r.app.async_unregister_raw("item", one_item("raw-" + std::to_string(n++)), std::move(token));
    });
    for (auto const& [ec, result] : unregistered) {
        BOOST_TEST(!ec);
        BOOST_TEST(result.deleted == 1U);
    }
    BOOST_TEST(port.entities("tokenItem").empty());

    auto const unknown = with_every_token<ocean::sync_result>(
        r.io, [&](auto token) { return r.app.async_register_raw("pipeline", one_item("x"), std::move(token)); });
    for (auto const& outcome : unknown)
        BOOST_TEST(outcome.first == make_error_code(ocean::error::unknown_kind));
}

BOOST_AUTO_TEST_CASE(tokens_register_ready_made_entities)
{
    port_side port;
    running_app r(port.config("tokens-gitops"));
    r.start();

    int n = 0;
    auto entities = [&] {
        ocean::port::entity e;
        e.identifier = "file-" + std::to_string(n++);
        e.blueprint = "tokenItem";
        e.title = "From a file";
        return std::vector<ocean::port::entity>{e};
    };
    auto const registered = with_every_token<ocean::sync_result>(
        r.io, [&](auto token) { return r.app.async_register(entities(), std::move(token)); });
    for (auto const& [ec, result] : registered) {
        BOOST_TEST(!ec);
        BOOST_TEST(result.upserted == 1U);
    }
    auto const stored = port.entities("tokenItem");
    BOOST_REQUIRE_EQUAL(stored.size(), 4U);
    for (auto const& e : stored)
        BOOST_TEST(e.at("datasource").as_string() == "port-ocean/tokens/0.1.0/tokens-gitops/gitops");

    // A resync never deletes gitops entities: they are not in the exporter datasource.
    auto const resync = r.app.async_sync_raw_all(asio::use_future).get();
    BOOST_TEST(resync.ok());
    BOOST_TEST(resync.deleted == 0U);
    BOOST_TEST(port.entities("tokenItem").size() == 8U);

    n = 0;
    auto const unregistered = with_every_token<ocean::sync_result>(
        r.io, [&](auto token) { return r.app.async_unregister(entities(), std::move(token)); });
    for (auto const& [ec, result] : unregistered) {
        BOOST_TEST(!ec);
        BOOST_TEST(result.deleted == 1U);
    }
    BOOST_TEST(port.entities("tokenItem").size() == 4U);
}

BOOST_AUTO_TEST_CASE(tokens_sync_raw_all_and_batch_sink)
{
    port_side port;
    running_app r(port.config("tokens-resync"));
    r.start();

    auto const outcomes = with_every_token<ocean::resync_result>(
        r.io, [&](auto token) { return r.app.async_sync_raw_all(std::move(token)); });
    for (auto const& [ec, result] : outcomes) {
        BOOST_TEST(!ec);
        BOOST_TEST(result.ok());
        BOOST_REQUIRE_EQUAL(result.kinds.size(), 1U);
        BOOST_TEST(result.kinds[0].upserted == 4U);
    }
    BOOST_TEST(r.sink_writes == 4);
    BOOST_TEST(port.entities("tokenItem").size() == 4U);
}

BOOST_AUTO_TEST_CASE(tokens_sync_raw_all_cancelled_by_caller)
{
    port_side port;
    asio::io_context io;
    ocean::integration app(io.get_executor(), port.config("tokens-cancel"));
    std::promise<void> entered;
    bool block = true;
    app.on_resync("item", [&](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        if (block) {
            block = false;
            entered.set_value();
            asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
            co_await forever.async_wait(asio::use_awaitable);
        }
        co_return ocean::raw_batch{};
    });
    BOOST_REQUIRE(!app.listen());
    auto run_done = app.async_run(asio::use_future);
    std::thread runner([&] { io.run(); });
    for (int i = 0; i < 400 && !ready(app); ++i)
        std::this_thread::sleep_for(50ms);

    asio::cancellation_signal signal;
    std::promise<error_code> finished;
    asio::post(io, [&] {
        app.async_sync_raw_all(asio::bind_cancellation_slot(
            signal.slot(), [&](error_code ec, ocean::resync_result) { finished.set_value(ec); }));
    });
    BOOST_REQUIRE(entered.get_future().wait_for(30s) == std::future_status::ready);
    asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
    auto result = finished.get_future();
    BOOST_REQUIRE(result.wait_for(30s) == std::future_status::ready);
    BOOST_TEST(result.get() == asio::error::operation_aborted);

    // The cancelled resync is finished: a new one neither waits for it nor fails.
    auto next = app.async_sync_raw_all(asio::use_future);
    BOOST_REQUIRE((next.wait_for(30s) == std::future_status::ready));
    BOOST_TEST(next.get().ok());

    app.stop();
    BOOST_TEST((run_done.wait_for(30s) == std::future_status::ready));
    io.stop();
    runner.join();
}

BOOST_AUTO_TEST_CASE(tokens_async_run_every_token)
{
    port_side port;
    // Each style runs its own integration to completion: start, become ready, stop.
    auto run_once = [&](std::string const& name, auto start) {
        asio::io_context io;
        ocean::integration app(io.get_executor(), port.config("tokens-run-" + name));
        BOOST_REQUIRE(!app.listen());
        std::promise<error_code> done;
        start(io, app, done);
        std::thread runner([&] { io.run(); });
        for (int i = 0; i < 400 && !ready(app); ++i)
            std::this_thread::sleep_for(50ms);
        BOOST_TEST_CONTEXT("async_run with " << name)
        {
            BOOST_TEST(ready(app));
            app.stop();
            auto result = done.get_future();
            BOOST_REQUIRE(result.wait_for(30s) == std::future_status::ready);
            BOOST_TEST(!result.get());
        }
        io.stop();
        runner.join();
    };

    run_once("callback", [](asio::io_context&, ocean::integration& app, std::promise<error_code>& done) {
        app.async_run([&done](error_code ec) { done.set_value(ec); });
    });
    run_once("future", [](asio::io_context&, ocean::integration& app, std::promise<error_code>& done) {
        auto future = std::make_shared<std::future<void>>(app.async_run(asio::use_future));
        std::thread([future, &done] {
            try {
                future->get();
                done.set_value({});
            } catch (boost::system::system_error const& e) {
                done.set_value(e.code());
            }
        }).detach();
    });
    run_once("deferred", [](asio::io_context&, ocean::integration& app, std::promise<error_code>& done) {
        auto deferred = app.async_run(asio::deferred);
        std::move(deferred)([&done](error_code ec) { done.set_value(ec); });
    });
    run_once("awaitable", [](asio::io_context& io, ocean::integration& app, std::promise<error_code>& done) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await app.async_run(asio::as_tuple(asio::use_awaitable));
                done.set_value(ec);
            },
            asio::detached);
    });
    BOOST_TEST(get_integrations_count(port) == 4U);
}
