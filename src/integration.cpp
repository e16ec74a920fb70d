#include <ocean/error.hpp>
#include <ocean/integration.hpp>
#include <ocean/live_events/processor_manager.hpp>

#include "detail/launch.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

namespace ocean {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

http::server_config server_config_of(integration_config const& c)
{
    http::server_config s;
    s.host = c.application_host;
    s.port = c.application_port;
    return s;
}

port::client_config port_config_of(integration_config const& c)
{
    port::client_config p;
    p.base_url = c.port_base_url;
    p.client_id = c.port_client_id;
    p.client_secret = c.port_client_secret;
    p.integration_type = c.integration_type;
    p.integration_version = c.integration_version;
    p.integration_identifier = c.integration_identifier;
    p.http.verify_peer = c.port_verify_tls;
    p.http.ca_file = c.port_ca_file;
    return p;
}

std::optional<std::string> default_config_file(std::string const& resources_path)
{
    for (char const* name : {"port-app-config.yml", "port-app-config.yaml", "port-app-config.json"}) {
        auto const path = std::filesystem::path(resources_path) / name;
        if (std::filesystem::exists(path))
            return path.string();
    }
    return std::nullopt;
}

std::string key_of(port::entity const& e)
{
    return e.blueprint + "/" + e.identifier_text();
}

} // namespace

struct integration::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, integration_config cfg)
        : executor(ex),
          strand(asio::make_strand(ex)),
          config(std::move(cfg)),
          server(ex, server_config_of(config)),
          routes(server.router(), "/integration"),
          port(ex, port_config_of(config))
    {
    }

    asio::any_io_executor executor;
    // Mapping runs here: a jq state serves one caller at a time.
    asio::strand<asio::any_io_executor> strand;
    integration_config config;
    http::server server;
    http::route_group routes;
    port::client port;
    std::vector<start_hook> hooks;
    std::optional<mapping::entity_processor> processor;
    std::unique_ptr<live_events::processor_manager> live_events;

    asio::awaitable<void> provision();
    asio::awaitable<void> run();
    asio::awaitable<sync_result> register_raw(std::string kind, std::vector<json::value> items);
    asio::awaitable<sync_result> unregister_raw(std::string kind, std::vector<json::value> items);
    mapping::mapping_result map(std::string const& kind, std::vector<json::value> const& items, sync_result& result);
};

asio::awaitable<void> integration::impl::provision()
{
    std::optional<mapping::port_app_config> defaults;
    if (auto const file = default_config_file(config.resources_path)) {
        defaults = mapping::port_app_config::load_file(*file);
        spdlog::info("loaded the default port-app-config from {} ({} resources)", *file, defaults->resources.size());
    } else {
        spdlog::info("no port-app-config.yml in {}; the integration uses the config stored in Port",
                     config.resources_path);
    }

    auto existing = co_await port.async_get_integration(asio::use_awaitable);
    mapping::port_app_config active;
    if (!existing) {
        if (!defaults)
            throw config_error("integration '" + config.integration_identifier +
                               "' does not exist in Port and there is no port-app-config.yml in '" +
                               config.resources_path + "' to create it with (set OCEAN__RESOURCES_PATH)");
        json::object body;
        body["installationAppType"] = config.integration_type;
        body["version"] = config.integration_version;
        body["config"] = defaults->to_json();
        body["changelogDestination"] = json::object{};
        co_await port.async_create_integration(std::move(body), asio::use_awaitable);
        spdlog::info("created integration '{}' in Port with the default port-app-config", config.integration_identifier);
        active = std::move(*defaults);
    } else {
        auto const* stored = existing->if_contains("config");
        bool const empty = stored == nullptr || !stored->is_object() || stored->get_object().empty();
        if (empty && defaults) {
            json::object body;
            body["config"] = defaults->to_json();
            co_await port.async_patch_integration(std::move(body), asio::use_awaitable);
            spdlog::info("integration '{}' had no port-app-config; set the default one", config.integration_identifier);
            active = std::move(*defaults);
        } else if (empty) {
            throw config_error("integration '" + config.integration_identifier +
                               "' has no port-app-config in Port and none was found in '" + config.resources_path + "'");
        } else {
            active = mapping::port_app_config::from_json(*stored);
            spdlog::info("using the port-app-config stored in Port for '{}' ({} resources)",
                         config.integration_identifier, active.resources.size());
        }
    }

    mapping::processor_options options;
    options.allow_environment_access = config.allow_environment_variables_jq_access;
    processor.emplace(std::move(active), options);
}

asio::awaitable<void> integration::impl::run()
{
    auto self = shared_from_this();
    config.validate();
    if (auto ec = server.local_endpoint().port() == 0 ? server.listen() : boost::system::error_code{})
        throw boost::system::system_error(ec, "cannot listen on " + config.application_host + ":" +
                                                  std::to_string(config.application_port));

    // Serve while provisioning and start hooks run, so webhooks are not refused meanwhile.
    auto served = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
    auto serve_error = std::make_shared<boost::system::error_code>();
    server.async_run([served, serve_error](boost::system::error_code ec) {
        *serve_error = ec;
        served->cancel();
    });

    std::exception_ptr provisioning_error;
    try {
        co_await provision();
    } catch (...) {
        provisioning_error = std::current_exception();
    }
    if (provisioning_error) {
        server.stop();
        co_await served->async_wait(asio::as_tuple(asio::use_awaitable));
        std::rethrow_exception(provisioning_error);
    }

    for (std::size_t i = 0; i < hooks.size(); ++i) {
        try {
            co_await hooks[i]();
        } catch (std::exception const& e) {
            spdlog::error("on_start hook {} of {} failed: {}; the integration keeps serving webhooks", i + 1,
                          hooks.size(), e.what());
        }
    }
    if (live_events)
        live_events->start(processor->config());
    server.set_ready(true);
    auto const endpoint = server.local_endpoint();
    spdlog::info("integration '{}' ready on {}:{}", config.integration_identifier, endpoint.address().to_string(),
                 endpoint.port());

    co_await served->async_wait(asio::as_tuple(asio::use_awaitable));
    if (live_events) {
        // The server may also end on an error, without stop(): drain the live events either way.
        live_events->stop();
        co_await live_events->async_wait_stopped(asio::as_tuple(asio::use_awaitable));
    }
    if (*serve_error)
        throw boost::system::system_error(*serve_error, "http server");
}

mapping::mapping_result integration::impl::map(std::string const& kind, std::vector<json::value> const& items,
                                               sync_result& result)
{
    if (!processor)
        throw boost::system::system_error(make_error_code(error::stopping),
                                          "the integration has not finished startup; no port-app-config yet");
    if (processor->config().resources_of(kind).empty())
        throw boost::system::system_error(make_error_code(error::unknown_kind),
                                          "kind '" + kind + "' has no resource in the port-app-config");
    auto mapped = processor->map(kind, items);
    for (auto const& m : mapped.misconfigured)
        spdlog::warn("kind '{}': field {} is misconfigured: {}", m.kind, m.path, m.message);
    for (auto const& e : mapped.errors)
        spdlog::error("kind '{}': {}", kind, e);
    if (mapped.skipped > 0)
        spdlog::warn("kind '{}': {} items skipped because identifier or blueprint mapped to null", kind, mapped.skipped);
    result.skipped = mapped.skipped;
    result.misconfigured = mapped.misconfigured;
    result.errors = mapped.errors;
    return mapped;
}

asio::awaitable<sync_result> integration::impl::register_raw(std::string kind, std::vector<json::value> items)
{
    auto self = shared_from_this();
    sync_result result;
    auto mapped = map(kind, items, result);

    port::upsert_options options;
    options.merge = processor->config().enable_merge_entity;
    options.create_missing_related_entities = processor->config().create_missing_related_entities;
    if (!mapped.passed.empty()) {
        auto written = co_await port.async_upsert_entities(mapped.passed, options, asio::use_awaitable);
        result.upserted = written.succeeded;
        result.failures = std::move(written.failures);
    }

    // Items that now fail the selector leave the catalog, unless another mapping produced them.
    std::set<std::string> kept;
    for (auto const& e : mapped.passed)
        kept.insert(key_of(e));
    std::vector<port::entity> stale;
    for (auto& e : mapped.failed)
        if (!kept.contains(key_of(e)))
            stale.push_back(std::move(e));
    if (!stale.empty() && result.errors.empty()) {
        port::delete_options remove;
        remove.delete_dependents = processor->config().delete_dependent_entities;
        auto removed = co_await port.async_delete_entities(std::move(stale), remove, asio::use_awaitable);
        result.deleted = removed.succeeded;
        result.failures.insert(result.failures.end(), removed.failures.begin(), removed.failures.end());
    }
    co_return result;
}

asio::awaitable<sync_result> integration::impl::unregister_raw(std::string kind, std::vector<json::value> items)
{
    auto self = shared_from_this();
    sync_result result;
    auto mapped = map(kind, items, result);
    if (!mapped.passed.empty()) {
        port::delete_options options;
        options.delete_dependents = processor->config().delete_dependent_entities;
        auto removed = co_await port.async_delete_entities(std::move(mapped.passed), options, asio::use_awaitable);
        result.deleted = removed.succeeded;
        result.failures = std::move(removed.failures);
    }
    co_return result;
}

integration::integration(asio::any_io_executor executor, integration_config config)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(config)))
{
}

integration::~integration() = default;

http::route_group& integration::router() noexcept
{
    return impl_->routes;
}

void integration::on_start(start_hook hook)
{
    impl_->hooks.push_back(std::move(hook));
}

void integration::add_webhook_processor(std::string const& path,
                                        std::shared_ptr<live_events::webhook_processor> processor)
{
    if (!impl_->live_events)
        impl_->live_events = std::make_unique<live_events::processor_manager>(
            impl_->executor, impl_->port, impl_->routes, live_events::manager_options::from_environment());
    impl_->live_events->add_processor(path, std::move(processor));
}

integration_config const& integration::config() const noexcept
{
    return impl_->config;
}

port::client& integration::port_client() noexcept
{
    return impl_->port;
}

http::server& integration::server() noexcept
{
    return impl_->server;
}

mapping::port_app_config const* integration::port_app_config() const noexcept
{
    return impl_->processor ? &impl_->processor->config() : nullptr;
}

boost::system::error_code integration::listen()
{
    return impl_->server.listen();
}

asio::ip::tcp::endpoint integration::local_endpoint() const
{
    return impl_->server.local_endpoint();
}

void integration::stop()
{
    impl_->server.stop();
    if (impl_->live_events)
        impl_->live_events->stop();
}

void integration::run_impl(asio::any_completion_handler<void(boost::system::error_code)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->run()), std::move(h));
}

void integration::register_raw_impl(std::string kind, std::vector<json::value> items,
                                    asio::any_completion_handler<void(boost::system::error_code, sync_result)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->register_raw(std::move(kind), std::move(items))),
                   std::move(h));
}

void integration::unregister_raw_impl(std::string kind, std::vector<json::value> items,
                                      asio::any_completion_handler<void(boost::system::error_code, sync_result)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->unregister_raw(std::move(kind), std::move(items))),
                   std::move(h));
}

} // namespace ocean
