// ocean-live-events-test-app: an integration with one webhook processor, for the live-events
// integration tests and benchmark. POST /integration/items takes {"id", "action": "upsert" |
// "delete", "title", "version"} signed with X-Signature: sha256=<hex HMAC of the body> under the
// secret in LIVE_EVENTS_TEST_SECRET, with the delivery id in X-Delivery-Id. Events of one id are
// ordered. Two test routes expose the processor's state:
//   GET  /integration/_test/handled   ids and versions in the order handle_event ran
//   POST /integration/_test/failing   {"id": ID, "fail": true|false} makes handle_event throw for ID
#include <ocean/ocean.hpp>
#include <ocean/live_events/webhook_processor.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <set>

namespace asio = boost::asio;
namespace json = boost::json;
using ocean::live_events::event_results;
using ocean::live_events::webhook_event;

namespace {

struct test_state {
    std::set<std::string> failing;
    json::array handled;
};

class item_processor : public ocean::live_events::webhook_processor {
public:
    item_processor(std::string secret, std::shared_ptr<test_state> state)
        : secrets_{std::move(secret)}, state_(std::move(state))
    {
    }

    asio::awaitable<bool> should_process_event(webhook_event const& event) override
    {
        co_return event.payload.is_object() && event.payload.as_object().contains("id");
    }

    asio::awaitable<std::vector<std::string>> get_matching_kinds(webhook_event const&) override
    {
        std::vector<std::string> kinds{"item"};
        co_return kinds;
    }

    asio::awaitable<ocean::http::verification> authenticate(std::string_view body,
                                                            ocean::http::fields const& headers) override
    {
        if (headers.count("X-Signature") > 1)
            co_return ocean::http::verification{ocean::http::signature_status::malformed,
                                                "X-Signature appears more than once"};
        co_return ocean::http::verify_hmac_hex(body, headers.get("X-Signature"), secrets_);
    }

    asio::awaitable<std::string> validate_payload(json::value const& payload) override
    {
        auto const& o = payload.as_object();
        auto const* id = o.if_contains("id");
        if (id == nullptr || !id->is_string() || id->get_string().empty())
            co_return std::string("field 'id' must be a non-empty string");
        auto const* action = o.if_contains("action");
        if (action == nullptr || !action->is_string() || (action->get_string() != "upsert" && action->get_string() != "delete"))
            co_return std::string("field 'action' must be \"upsert\" or \"delete\"");
        co_return std::string();
    }

    asio::awaitable<event_results> handle_event(webhook_event const& event,
                                                ocean::mapping::resource_config const&) override
    {
        auto const& o = event.payload.as_object();
        std::string const id(o.at("id").as_string());
        json::object entry;
        entry["id"] = id;
        entry["version"] = o.contains("version") ? o.at("version") : json::value();
        entry["action"] = o.at("action");
        state_->handled.push_back(std::move(entry));
        if (auto const* delay = o.if_contains("delay_ms"); delay != nullptr && delay->is_int64()) {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_after(std::chrono::milliseconds(delay->as_int64()));
            co_await timer.async_wait(asio::use_awaitable);
        }
        if (state_->failing.contains(id))
            throw std::runtime_error("item '" + id + "' is set to fail through /integration/_test/failing");
        event_results results;
        if (o.at("action").as_string() == "delete")
            results.deleted.push_back(event.payload);
        else
            results.updated.push_back(event.payload);
        co_return results;
    }

    std::optional<std::string> ordering_key(webhook_event const& event) override
    {
        return std::string(event.payload.as_object().at("id").as_string());
    }

    std::optional<std::string> delivery_id_header() const override { return "X-Delivery-Id"; }

private:
    std::vector<std::string> secrets_;
    std::shared_ptr<test_state> state_;
};

} // namespace

int main()
{
    ocean::integration_config config;
    try {
        config = ocean::integration_config::from_environment();
        config.validate();
    } catch (ocean::config_error const& e) {
        std::cerr << "ocean-live-events-test-app: " << e.what() << "\n";
        return 2;
    }
    // Logs go to stderr: stdout carries only the ready line, and the tests stop reading it after that.
    spdlog::set_default_logger(spdlog::stderr_color_mt("ocean-live-events-test-app"));
    spdlog::set_level(spdlog::level::from_str(config.log_level));
    char const* secret = std::getenv("LIVE_EVENTS_TEST_SECRET");
    if (secret == nullptr || *secret == '\0') {
        std::cerr << "ocean-live-events-test-app: LIVE_EVENTS_TEST_SECRET is not set\n";
        return 2;
    }

    asio::io_context io;
    ocean::integration app(io.get_executor(), config);
    auto state = std::make_shared<test_state>();
    try {
        app.add_webhook_processor("/items", std::make_shared<item_processor>(secret, state));
    } catch (std::exception const& e) {
        std::cerr << "ocean-live-events-test-app: " << e.what() << "\n";
        return 1;
    }

    app.router().get("/_test/handled", [state](ocean::http::request const&) -> asio::awaitable<ocean::http::response> {
        co_return ocean::http::response::json(state->handled);
    });
    app.router().post("/_test/failing", [state](ocean::http::request const& request) -> asio::awaitable<ocean::http::response> {
        auto const& body = request.json().as_object();
        std::string const id(body.at("id").as_string());
        if (body.at("fail").as_bool())
            state->failing.insert(id);
        else
            state->failing.erase(id);
        co_return ocean::http::response::ok();
    });

    if (auto ec = app.listen()) {
        std::cerr << "ocean-live-events-test-app: cannot listen: " << ec.message() << "\n";
        return 1;
    }
    auto const endpoint = app.local_endpoint();
    std::cout << "ocean-live-events-test-app listening on http://" << endpoint.address().to_string() << ":"
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
