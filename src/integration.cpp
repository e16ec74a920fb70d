#include <ocean/error.hpp>
#include <ocean/integration.hpp>
#include <ocean/live_events/processor_manager.hpp>

#include "detail/launch.hpp"
#include "lifecycle/integration_impl.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace ocean {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

http::server_config server_config_of(integration_config const& c)
{
    http::server_config s;
    s.host = c.application_host;
    s.port = c.application_port;
    s.drain_timeout = c.shutdown_timeout;
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

integration::impl::impl(asio::any_io_executor ex, integration_config cfg)
    : executor(ex),
      strand(asio::make_strand(ex)),
      config(std::move(cfg)),
      server(ex, server_config_of(config)),
      routes(server.router(), "/integration"),
      port(ex, port_config_of(config)),
      stop_timer(strand, asio::steady_timer::time_point::max())
{
    if (config.event_listener_type == "WEBHOOK")
        add_webhook_listener_route();
}

// Returns the integration fields this SDK sets. Startup PATCHes those whose stored value differs.
json::object desired_fields(integration_config const& config)
{
    json::object fields;
    fields["installationAppType"] = config.integration_type;
    fields["version"] = config.integration_version;
    if (config.event_listener_type == "WEBHOOK" && config.base_url)
        fields["changelogDestination"] = json::object{{"type", "WEBHOOK"}, {"url", *config.base_url + "/resync"}};
    else
        fields["changelogDestination"] = json::object{};
    return fields;
}

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
    bool resources_initialized = false;
    auto const desired = desired_fields(config);
    if (!existing) {
        if (!defaults)
            throw config_error("integration '" + config.integration_identifier +
                               "' does not exist in Port and there is no port-app-config.yml in '" +
                               config.resources_path + "' to create it with (set OCEAN__RESOURCES_PATH)");
        json::object body = desired;
        body["config"] = defaults->to_json();
        co_await port.async_create_integration(std::move(body), asio::use_awaitable);
        spdlog::info("created integration '{}' in Port with the default port-app-config", config.integration_identifier);
        active = std::move(*defaults);
    } else {
        if (auto const* flag = existing->if_contains("arePortResourcesInitialized"); flag && flag->is_bool())
            resources_initialized = flag->get_bool();

        json::object patch;
        for (auto const& [key, value] : desired) {
            auto const* stored = existing->if_contains(key);
            bool const same = stored != nullptr && *stored == value;
            // Port stores no changelog destination as null; an empty object means the same.
            bool const both_empty = key == "changelogDestination" && value.as_object().empty() &&
                                    (stored == nullptr || stored->is_null());
            if (!same && !both_empty)
                patch[key] = value;
        }

        auto const* stored = existing->if_contains("config");
        bool const empty = stored == nullptr || !stored->is_object() || stored->get_object().empty();
        if (empty && defaults) {
            patch["config"] = defaults->to_json();
            active = std::move(*defaults);
            spdlog::info("integration '{}' had no port-app-config; setting the default one",
                         config.integration_identifier);
        } else if (empty) {
            throw config_error("integration '" + config.integration_identifier +
                               "' has no port-app-config in Port and none was found in '" + config.resources_path + "'");
        } else {
            active = mapping::port_app_config::from_json(*stored);
            spdlog::info("using the port-app-config stored in Port for '{}' ({} resources)",
                         config.integration_identifier, active.resources.size());
        }
        if (!patch.empty()) {
            patch["version"] = config.integration_version;
            std::string keys;
            for (auto const& [key, value] : patch)
                keys += (keys.empty() ? "" : ", ") + std::string(key);
            co_await port.async_patch_integration(std::move(patch), asio::use_awaitable);
            spdlog::info("updated integration '{}' in Port: {}", config.integration_identifier, keys);
        }
    }

    mapping::processor_options options;
    options.allow_environment_access = config.allow_environment_variables_jq_access;
    processor.emplace(std::move(active), options);

    if (!resources_initialized && config.initialize_port_resources)
        co_await initialize_resources();
}

namespace {

std::optional<json::array> load_default_blueprints(std::string const& resources_path)
{
    auto const path = std::filesystem::path(resources_path) / "blueprints.json";
    if (!std::filesystem::exists(path))
        return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    boost::system::error_code ec;
    auto document = json::parse(buffer.str(), ec);
    if (ec || !document.is_array())
        throw config_error(path.string() + ": expected a JSON array of blueprints");
    for (auto const& blueprint : document.get_array()) {
        auto const* id = blueprint.is_object() ? blueprint.get_object().if_contains("identifier") : nullptr;
        if (id == nullptr || !id->is_string())
            throw config_error(path.string() + ": every blueprint needs a string \"identifier\"");
    }
    return std::move(document.get_array());
}

// Members that may point at other blueprints; a blueprint is first created without them.
constexpr std::array<char const*, 6> linked_members{"relations",       "mirrorProperties", "calculationProperties",
                                                    "aggregationProperties", "ownership", "teamInheritance"};

std::string blueprint_path(json::value const& blueprint)
{
    return "/blueprints/" + std::string(blueprint.at("identifier").as_string());
}

} // namespace

asio::awaitable<void> integration::impl::initialize_resources()
{
    auto blueprints = load_default_blueprints(config.resources_path);
    if (!blueprints)
        spdlog::info("no blueprints.json in {}; no default blueprints to create", config.resources_path);

    bool created_all = true;
    if (blueprints && !blueprints->empty()) {
        // Like Port Ocean: when any default blueprint exists, the user owns the model; create none.
        std::optional<std::string> found;
        for (auto const& blueprint : *blueprints) {
            auto response = co_await port.async_call("GET", blueprint_path(blueprint), std::nullopt, true,
                                                     asio::use_awaitable);
            if (response.status == 200) {
                found = std::string(blueprint.at("identifier").as_string());
                break;
            }
        }
        if (found) {
            spdlog::info("blueprint '{}' already exists in Port; the default blueprints are not created", *found);
        } else {
            std::vector<std::string> created;
            std::string failure;
            // Bare blueprints first, so relations added next always find their targets.
            for (auto const& blueprint : *blueprints) {
                json::object bare = blueprint.get_object();
                for (auto const* member : linked_members)
                    bare.erase(member);
                std::optional<json::value> body = json::value(std::move(bare));
                auto response = co_await port.async_call("POST", "/blueprints", std::move(body), false,
                                                         asio::use_awaitable);
                if (response.status >= 300) {
                    failure = "creating blueprint '" + std::string(blueprint.at("identifier").as_string()) +
                              "' returned HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 300);
                    break;
                }
                created.emplace_back(blueprint.at("identifier").as_string());
            }
            for (std::size_t i = 0; failure.empty() && i < blueprints->size(); ++i) {
                auto const& blueprint = (*blueprints)[i];
                json::object links;
                for (auto const* member : linked_members)
                    if (auto const* value = blueprint.get_object().if_contains(member))
                        links[member] = *value;
                if (links.empty())
                    continue;
                std::optional<json::value> body = json::value(std::move(links));
                auto response = co_await port.async_call("PATCH", blueprint_path(blueprint), std::move(body), true,
                                                         asio::use_awaitable);
                if (response.status >= 300)
                    failure = "adding relations to blueprint '" + std::string(blueprint.at("identifier").as_string()) +
                              "' returned HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 300);
            }
            if (!failure.empty()) {
                created_all = false;
                spdlog::error("creating the default blueprints failed: {}; removing the {} created", failure,
                              created.size());
                for (auto it = created.rbegin(); it != created.rend(); ++it) {
                    auto [ec, response] = co_await port.async_call("DELETE", "/blueprints/" + *it, std::nullopt, true,
                                                                   asio::as_tuple(asio::use_awaitable));
                    if (ec || response.status >= 300)
                        spdlog::error("removing blueprint '{}' failed; remove it by hand", *it);
                }
            } else {
                spdlog::info("created {} default blueprints from {}/blueprints.json", created.size(),
                             config.resources_path);
            }
        }
    }

    if (created_all) {
        json::object patch;
        patch["arePortResourcesInitialized"] = true;
        patch["version"] = config.integration_version;
        co_await port.async_patch_integration(std::move(patch), asio::use_awaitable);
    }
}

void integration::impl::begin_stop()
{
    if (stopping)
        return;
    stopping = true;
    spdlog::info("integration '{}' stopping", config.integration_identifier);
    stop_timer.cancel();
    if (current_resync && !current_resync->finished)
        current_resync->cancel();
    server.stop();
    if (live_events)
        live_events->stop();
}

asio::awaitable<void> integration::impl::wait_served(std::shared_ptr<asio::steady_timer> served,
                                                     std::shared_ptr<boost::system::error_code> serve_error)
{
    co_await served->async_wait(asio::as_tuple(asio::use_awaitable));
    if (*serve_error) {
        begin_stop();
        throw boost::system::system_error(*serve_error, "http server");
    }
}

asio::awaitable<void> integration::impl::run()
{
    auto self = shared_from_this();
    config.validate();
    if (auto ec = server.local_endpoint().port() == 0 ? server.listen() : boost::system::error_code{})
        throw boost::system::system_error(ec, "cannot listen on " + config.application_host + ":" +
                                                  std::to_string(config.application_port));
    if (!config.integration_settings.empty())
        spdlog::info("integration settings: {}", json::serialize(config.loggable_settings()));

    // Serve while provisioning and start hooks run, so webhooks are not refused meanwhile.
    auto served = std::make_shared<asio::steady_timer>(strand, asio::steady_timer::time_point::max());
    auto serve_error = std::make_shared<boost::system::error_code>();
    server.async_run(asio::bind_executor(strand, [served, serve_error](boost::system::error_code ec) {
        *serve_error = ec;
        served->cancel();
    }));

    std::exception_ptr provisioning_error;
    try {
        co_await provision();
    } catch (...) {
        provisioning_error = std::current_exception();
    }
    if (provisioning_error) {
        stopping = true;
        server.stop();
        co_await served->async_wait(asio::as_tuple(asio::use_awaitable));
        std::rethrow_exception(provisioning_error);
    }

    for (std::size_t i = 0; i < hooks.size() && !stopping; ++i) {
        std::exception_ptr failure;
        try {
            co_await hooks[i]();
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            std::string message = "unknown exception";
            try {
                std::rethrow_exception(failure);
            } catch (std::exception const& e) {
                message = e.what();
            } catch (...) {
            }
            spdlog::error("on_start hook {} of {} failed: {}; the integration keeps serving webhooks", i + 1,
                          hooks.size(), message);
        }
    }
    if (live_events && !stopping)
        live_events->start(processor->config());
    server.set_ready(!stopping);
    if (!stopping) {
        auto const endpoint = server.local_endpoint();
        spdlog::info("integration '{}' ready on {}:{} with the {} event listener", config.integration_identifier,
                     endpoint.address().to_string(), endpoint.port(), config.event_listener_type);
    }

    co_await (wait_served(served, serve_error) && run_listener());
    // A resync started by the WEBHOOK listener may still be reporting its abort.
    co_await wait_resync_idle();
    if (live_events) {
        // The listener may also end on its own (ONCE) without stop(): drain the live events either way.
        live_events->stop();
        co_await live_events->async_wait_stopped(asio::as_tuple(asio::use_awaitable));
    }
    spdlog::info("integration '{}' stopped", config.integration_identifier);
    if (listener_error)
        throw boost::system::system_error(listener_error, "event listener " + config.event_listener_type);
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

asio::awaitable<sync_result> integration::impl::register_ready_made(std::vector<port::entity> entities, bool upsert)
{
    auto self = shared_from_this();
    sync_result result;
    if (entities.empty())
        co_return result;
    // Without a port-app-config yet, Port's defaults apply.
    auto const* pac = processor ? &processor->config() : nullptr;
    if (upsert) {
        port::upsert_options options;
        options.agent = port::user_agent_type::gitops;
        options.merge = pac ? pac->enable_merge_entity : true;
        options.create_missing_related_entities = pac ? pac->create_missing_related_entities : true;
        auto written = co_await port.async_upsert_entities(std::move(entities), options, asio::use_awaitable);
        result.upserted = written.succeeded;
        result.failures = std::move(written.failures);
    } else {
        port::delete_options options;
        options.agent = port::user_agent_type::gitops;
        options.delete_dependents = pac ? pac->delete_dependent_entities : false;
        auto removed = co_await port.async_delete_entities(std::move(entities), options, asio::use_awaitable);
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

void integration::add_batch_handler(std::string kind, resync_batch_handler handler)
{
    impl_->resync_handlers.push_back({std::move(kind), std::move(handler), {}});
}

void integration::add_stream_handler(std::string kind, resync_stream_handler handler)
{
    impl_->resync_handlers.push_back({std::move(kind), {}, std::move(handler)});
}

void integration::on_resync_start(resync_hook hook)
{
    impl_->resync_start_hooks.push_back(std::move(hook));
}

void integration::on_resync_complete(resync_hook hook)
{
    impl_->resync_complete_hooks.push_back(std::move(hook));
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
    asio::dispatch(impl_->strand, [state = impl_] { state->begin_stop(); });
}

void integration::run_impl(asio::any_completion_handler<void(boost::system::error_code)> h)
{
    // Cancelling async_run means stop(): the run drains and completes on its own, so the
    // caller's slot is not forwarded into the coroutine.
    auto slot = asio::get_associated_cancellation_slot(h);
    if (slot.is_connected())
        slot.assign([weak = std::weak_ptr<impl>(impl_)](asio::cancellation_type) {
            if (auto state = weak.lock())
                asio::dispatch(state->strand, [state] { state->begin_stop(); });
        });
    auto executor = asio::get_associated_executor(h, impl_->strand);
    auto completion = asio::bind_executor(executor, [h = std::move(h), slot](boost::system::error_code ec) mutable {
        if (slot.is_connected())
            slot.clear();
        std::move(h)(ec);
    });
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->run()), std::move(completion));
}

void integration::sync_raw_all_impl(
    asio::any_completion_handler<void(boost::system::error_code, resync_result)> h)
{
    auto body = [](std::shared_ptr<impl> state) -> asio::awaitable<resync_result> {
        auto result = co_await state->sync_raw_all();
        if (result.status == resync_result::state::aborted)
            throw boost::system::system_error(asio::error::operation_aborted, "resync aborted");
        co_return result;
    };
    detail::launch(impl_->strand, body(impl_), std::move(h));
}

void integration::register_impl(std::vector<port::entity> entities, bool upsert,
                                 asio::any_completion_handler<void(boost::system::error_code, sync_result)> h)
{
    detail::launch(impl_->strand,
                   detail::keep_alive(impl_, impl_->register_ready_made(std::move(entities), upsert)), std::move(h));
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
