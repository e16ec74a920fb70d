// ocean-sample-third-party: an integration for the project tracker that ocean-fake-third-party
// imitates. At start it registers appHost + /integration/webhook in the tracker (with retries);
// a resync pages through projects and tasks; signed live events upsert and delete single items.
// Settings (see .port/spec.yaml): OCEAN__INTEGRATION__CONFIG__SERVICE_URL,
// OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET and OCEAN__INTEGRATION__CONFIG__PAGE_SIZE.
#include <ocean/http/signature.hpp>
#include <ocean/ocean.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <random>

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct tracker_settings {
    std::string service_url;
    std::string webhook_secret;
    std::int64_t page_size = 50;
};

tracker_settings settings_of(ocean::integration_config const& config)
{
    auto const& s = config.integration_settings;
    tracker_settings out;
    out.service_url = std::string(s.at("service_url").as_string());
    out.webhook_secret = std::string(s.at("webhook_secret").as_string());
    if (auto const* size = s.if_contains("page_size"))
        out.page_size = size->as_int64();
    return out;
}

// Registers `url` in the tracker. Retries network errors and 5xx responses per `policy`; throws
// when the policy gives up or the tracker rejects the registration.
asio::awaitable<void> register_webhook(ocean::http::client& client, tracker_settings const& settings,
                                       std::string const& url, ocean::retry_policy const& policy)
{
    json::object registration{{"url", url}, {"secret", settings.webhook_secret}};
    auto const body = json::serialize(registration);
    std::mt19937_64 random{std::random_device{}()};
    auto const started = std::chrono::steady_clock::now();
    for (unsigned attempt = 1;; ++attempt) {
        ocean::http::client_request request;
        request.method = "POST";
        request.url = settings.service_url + "/api/webhooks";
        request.body = body;
        request.headers.set("Content-Type", "application/json");
        auto [ec, reply] = co_await client.async_send(std::move(request), asio::as_tuple(asio::use_awaitable));
        if (!ec && reply.status < 300) {
            spdlog::info("registered {} in the tracker (attempt {})", url, attempt);
            co_return;
        }
        if (!ec && reply.status < 500)
            throw std::runtime_error("the tracker rejected the webhook registration: HTTP " +
                                     std::to_string(reply.status) + " " + reply.body);
        auto const reason = ec ? ec.message() : "HTTP " + std::to_string(reply.status);
        auto const elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        auto const delay = policy.next_delay(attempt + 1, elapsed, std::nullopt,
                                             std::uniform_real_distribution<double>(0.0, 1.0)(random));
        if (!delay)
            throw std::runtime_error("webhook registration failed after " + std::to_string(attempt) +
                                     " attempts: " + reason);
        spdlog::warn("webhook registration attempt {} failed ({}); retrying in {} ms", attempt, reason, delay->count());
        asio::steady_timer timer(co_await asio::this_coro::executor, *delay);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

// Streams every page of `kind` from the tracker to `sink`.
asio::awaitable<void> list_all(ocean::http::client& client, tracker_settings const& settings, std::string const& kind,
                               ocean::batch_sink& sink)
{
    for (std::int64_t page = 1;;) {
        ocean::http::client_request request;
        request.url = settings.service_url + "/api/" + kind + "s?page=" + std::to_string(page) +
                      "&per_page=" + std::to_string(settings.page_size);
        auto reply = co_await client.async_send(std::move(request), asio::use_awaitable);
        if (reply.status != 200)
            throw std::runtime_error("listing " + kind + "s (page " + std::to_string(page) + ") returned HTTP " +
                                     std::to_string(reply.status));
        auto document = json::parse(reply.body);
        auto& items = document.at("items").as_array();
        ocean::raw_batch batch(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
        co_await sink.async_write(std::move(batch));
        auto const& next = document.at("next_page");
        if (next.is_null())
            co_return;
        page = next.to_number<std::int64_t>();
    }
}

std::string required_string(json::object const& body, std::string_view name)
{
    auto const* value = body.if_contains(name);
    if (value == nullptr || !value->is_string())
        throw ocean::http::error_response(422, "invalid_event", "field '" + std::string(name) + "' is missing or not a string");
    return std::string(value->get_string());
}

} // namespace

int main()
{
    ocean::integration_config config;
    tracker_settings settings;
    try {
        config = ocean::integration_config::from_environment();
        config.validate();
        settings = settings_of(config);
    } catch (ocean::config_error const& e) {
        std::cerr << "ocean-sample-third-party: " << e.what() << "\n";
        return 2;
    }
    spdlog::set_level(spdlog::level::from_str(config.log_level));

    asio::io_context io;
    ocean::integration app(io.get_executor(), config);
    ocean::http::client tracker(io.get_executor());

    app.on_start([&]() -> asio::awaitable<void> {
        auto const& host = app.config().app_host();
        if (!host) {
            spdlog::info("OCEAN__BASE_URL is not set: webhook registration in the tracker is skipped, "
                         "so only resyncs keep the catalog current");
            co_return;
        }
        ocean::retry_policy policy;
        policy.max_attempts = 6;
        policy.initial_delay = std::chrono::milliseconds(200);
        policy.total_budget = std::chrono::seconds(30);
        co_await register_webhook(tracker, settings, *host + "/integration/webhook", policy);
    });

    for (std::string const kind : {"project", "task"})
        app.on_resync(kind, [&](std::string const& k, ocean::batch_sink& sink) -> asio::awaitable<void> {
            co_await list_all(tracker, settings, k, sink);
        });

    auto signed_routes = app.router().group("", {ocean::http::github_signature({settings.webhook_secret})});
    signed_routes.post("/webhook", [&app](ocean::http::request const& request) -> asio::awaitable<ocean::http::response> {
        auto const* body = request.json().if_object();
        if (body == nullptr)
            throw ocean::http::error_response(422, "invalid_event", "expected a JSON object body");
        auto const action = required_string(*body, "action");
        auto const kind = required_string(*body, "kind");
        auto const* item = body->if_contains("item");
        if (item == nullptr || !item->is_object())
            throw ocean::http::error_response(422, "invalid_event", "field 'item' is missing or not an object");
        if (action != "upsert" && action != "delete")
            throw ocean::http::error_response(422, "invalid_event", "field 'action' must be upsert or delete");

        std::vector<json::value> items{*item};
        boost::system::error_code ec;
        ocean::sync_result result;
        if (action == "upsert")
            std::tie(ec, result) = co_await app.async_register_raw(kind, std::move(items), asio::as_tuple(asio::use_awaitable));
        else
            std::tie(ec, result) = co_await app.async_unregister_raw(kind, std::move(items), asio::as_tuple(asio::use_awaitable));
        if (ec == ocean::error::unknown_kind)
            throw ocean::http::error_response(422, "unknown_kind", "kind '" + kind + "' has no resource in the port-app-config");
        // Cancelled because the server is stopping: rethrown as is, the server responds 503 with
        // Retry-After so that the sender retries later.
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec);
        if (ec)
            throw ocean::http::error_response(502, "port_error", "applying the event failed: " + ec.message());
        spdlog::info("live event {} {}: {} upserted, {} deleted", action, kind, result.upserted, result.deleted);
        co_return ocean::http::response::json(
            json::object{{"status", "ok"}, {"upserted", result.upserted}, {"deleted", result.deleted}});
    });

    if (auto ec = app.listen()) {
        std::cerr << "ocean-sample-third-party: cannot listen on " << config.application_host << ":"
                  << config.application_port << ": " << ec.message() << "\n";
        return 1;
    }
    auto const endpoint = app.local_endpoint();
    std::cout << "ocean-sample-third-party listening on http://" << endpoint.address().to_string() << ":"
              << endpoint.port() << std::endl;

    bool signalled = false;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (!ec) {
            spdlog::info("signal {} received; stopping", signal);
            signalled = true;
            app.stop();
        }
    });

    int exit_code = 0;
    app.async_run([&](boost::system::error_code ec) {
        // A stop requested by a signal is a clean exit, even when it aborted a ONCE resync.
        if (ec && !signalled) {
            spdlog::error("integration stopped with an error: {}", ec.message());
            exit_code = 1;
        }
        signals.cancel();
        io.stop();
    });
    io.run();
    return exit_code;
}
