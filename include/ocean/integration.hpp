// ocean::integration: the router, lifecycle hooks and data calls of one Port integration.
#pragma once

#include <ocean/config.hpp>
#include <ocean/detail/async.hpp>
#include <ocean/http/router.hpp>
#include <ocean/http/server.hpp>
#include <ocean/live_events/webhook_processor.hpp>
#include <ocean/mapping/entity_processor.hpp>
#include <ocean/port/client.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ocean {

/// A startup hook, awaited before the integration reports ready.
using start_hook = std::function<boost::asio::awaitable<void>()>;

/// The outcome of a data call.
struct sync_result {
    std::size_t upserted = 0;
    std::size_t deleted = 0;
    /// Items skipped because their identifier or blueprint mapped to null.
    std::size_t skipped = 0;
    std::vector<port::entity_failure> failures;
    std::vector<mapping::misconfiguration> misconfigured;
    /// Mapping errors (non-boolean selector, ...), each naming the kind.
    std::vector<std::string> errors;
};

/// One integration on the caller's executor: an HTTP server with routes under `/integration`,
/// a Port client, and the port-app-config mapping. It starts no threads and installs no signal
/// handlers; the application owns both.
class integration {
public:
    integration(boost::asio::any_io_executor executor, integration_config config);
    ~integration();
    integration(integration const&) = delete;
    integration& operator=(integration const&) = delete;

    /// Routes under `/integration`: `router().post("/webhook", h)` serves POST /integration/webhook.
    http::route_group& router() noexcept;

    /// Adds a startup hook. Hooks run in order after provisioning; a failing hook is logged with
    /// its error and the integration still serves webhooks.
    void on_start(start_hook hook);

    /// Adds a webhook processor on `path`, served at POST /integration{path}; several processors
    /// may share a path. The first call opens the live-events inbox (settings from
    /// OCEAN__LIVE_EVENTS__*, see docs/LIVE_EVENTS.md). Throws ocean::config_error for an invalid
    /// setting and std::system_error when the inbox cannot be opened. Call before async_run.
    void add_webhook_processor(std::string const& path, std::shared_ptr<live_events::webhook_processor> processor);

    integration_config const& config() const noexcept;
    port::client& port_client() noexcept;
    http::server& server() noexcept;

    /// The port-app-config in use (after startup provisioning), or nullptr before it.
    mapping::port_app_config const* port_app_config() const noexcept;

    /// Binds the HTTP server now, so local_endpoint() is known before async_run.
    boost::system::error_code listen();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Provisions the integration in Port (creating it with the default port-app-config from the
    /// resources path when Port does not have it, otherwise using Port's config), serves HTTP,
    /// awaits the start hooks, reports ready, and serves until stop().
    /// Completion: void(error_code); an error when configuration or provisioning failed.
    template <class Token = default_token>
    auto async_run(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code)>(
            std::forward<Token>(token), [this](auto h) { run_impl(std::move(h)); });
    }

    /// Stops: no new requests, in-flight ones finish up to the drain timeout. Any thread.
    void stop();

    /// Maps `items` of `kind` through the port-app-config and upserts the entities that pass the
    /// selector; entities of items that fail it are deleted (Port Ocean's rule).
    /// Completion: void(error_code, sync_result). error::unknown_kind when no resource maps `kind`.
    template <class Token = default_token>
    auto async_register_raw(std::string kind, std::vector<boost::json::value> items, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, sync_result)>(
            std::forward<Token>(token), [this, k = std::move(kind), i = std::move(items)](auto h) mutable {
                register_raw_impl(std::move(k), std::move(i), std::move(h));
            });
    }

    /// Maps `items` of `kind` and deletes the entities that pass the selector.
    /// Completion: void(error_code, sync_result).
    template <class Token = default_token>
    auto async_unregister_raw(std::string kind, std::vector<boost::json::value> items, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, sync_result)>(
            std::forward<Token>(token), [this, k = std::move(kind), i = std::move(items)](auto h) mutable {
                unregister_raw_impl(std::move(k), std::move(i), std::move(h));
            });
    }

    struct impl;

private:
    void run_impl(boost::asio::any_completion_handler<void(boost::system::error_code)> h);
    void register_raw_impl(std::string kind, std::vector<boost::json::value> items,
                           boost::asio::any_completion_handler<void(boost::system::error_code, sync_result)> h);
    void unregister_raw_impl(std::string kind, std::vector<boost::json::value> items,
                             boost::asio::any_completion_handler<void(boost::system::error_code, sync_result)> h);

    std::shared_ptr<impl> impl_;
};

} // namespace ocean
