// ocean-sample-quickstart: the smallest useful integration. Each POST /integration/webhook with
// a body {"event": "new" | "delete", "kind": K, ...} registers or unregisters that item as kind K,
// mapped to Port entities by .port/resources/port-app-config.yml.
#include <ocean/ocean.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Returns body[name] as a string, or throws a 422 error naming the field.
std::string required_string(json::object const& body, std::string_view name)
{
    auto const* value = body.if_contains(name);
    if (value == nullptr || !value->is_string())
        throw ocean::http::error_response(422, "invalid_payload",
                                          "field '" + std::string(name) + "' is missing or not a string");
    return std::string(value->get_string());
}

json::object summary(std::string_view event, std::string_view kind, ocean::sync_result const& r)
{
    json::array failures;
    for (auto const& f : r.failures)
        failures.push_back({{"blueprint", f.blueprint}, {"identifier", f.identifier}, {"message", f.message}});
    return {{"status", "ok"},       {"event", event},          {"kind", kind},
            {"upserted", r.upserted}, {"deleted", r.deleted}, {"skipped", r.skipped},
            {"failures", std::move(failures)}};
}

} // namespace

int main()
{
    ocean::integration_config config;
    try {
        config = ocean::integration_config::from_environment();
        config.validate();
    } catch (ocean::config_error const& e) {
        std::cerr << "ocean-sample-quickstart: " << e.what() << "\n";
        return 2;
    }
    spdlog::set_level(spdlog::level::from_str(config.log_level));

    asio::io_context io;
    ocean::integration app(io.get_executor(), config);

    app.router().post("/webhook", [&app](ocean::http::request const& request) -> asio::awaitable<ocean::http::response> {
        auto const* body = request.json().if_object();
        if (body == nullptr)
            throw ocean::http::error_response(422, "invalid_payload", "expected a JSON object body");
        auto const event = required_string(*body, "event");
        auto const kind = required_string(*body, "kind");
        if (event != "new" && event != "delete")
            throw ocean::http::error_response(422, "invalid_payload",
                                              "field 'event' must be \"new\" or \"delete\", got \"" + event + "\"");

        std::vector<json::value> items;
        items.emplace_back(*body);
        // Plain statements: GCC 12 miscompiles co_await inside a conditional expression.
        boost::system::error_code ec;
        ocean::sync_result result;
        if (event == "new")
            std::tie(ec, result) =
                co_await app.async_register_raw(kind, std::move(items), asio::as_tuple(asio::use_awaitable));
        else
            std::tie(ec, result) =
                co_await app.async_unregister_raw(kind, std::move(items), asio::as_tuple(asio::use_awaitable));
        if (ec == ocean::error::unknown_kind)
            throw ocean::http::error_response(422, "unknown_kind",
                                              "kind '" + kind + "' has no resource in the port-app-config");
        // Cancelled because the server is stopping: rethrown as is, the server responds 503 with
        // Retry-After so that the sender retries later.
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec);
        if (ec)
            throw ocean::http::error_response(502, "port_error", "applying the event failed: " + ec.message());
        co_return ocean::http::response::json(summary(event, kind, result));
    });

    app.on_start([&app]() -> asio::awaitable<void> {
        if (auto const& host = app.config().app_host())
            spdlog::info("third-party services should send webhooks to {}/integration/webhook", *host);
        else
            spdlog::info("OCEAN__BASE_URL is not set: third-party webhook registration is skipped; "
                         "POST /integration/webhook still works");
        co_return;
    });

    if (auto ec = app.listen()) {
        std::cerr << "ocean-sample-quickstart: cannot listen on " << config.application_host << ":"
                  << config.application_port << ": " << ec.message() << "\n";
        return 1;
    }
    auto const endpoint = app.local_endpoint();
    std::cout << "ocean-sample-quickstart listening on http://" << endpoint.address().to_string() << ":"
              << endpoint.port() << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&app](boost::system::error_code ec, int signal) {
        if (!ec) {
            spdlog::info("signal {} received; stopping", signal);
            app.stop();
        }
    });

    int exit_code = 0;
    app.async_run([&](boost::system::error_code ec) {
        if (ec) {
            spdlog::error("integration stopped with an error: {}", ec.message());
            exit_code = 1;
        }
        signals.cancel();
    });
    io.run();
    return exit_code;
}
