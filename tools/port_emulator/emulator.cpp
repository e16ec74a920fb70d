#include "emulator.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse_query.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace ocean::emulator {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

http::response to_http(api_result const& result)
{
    return http::response::json(result.body, result.status);
}

bool query_flag(http::request const& request, std::string_view name)
{
    auto const value = request.query(name);
    if (!value)
        return false;
    auto lowered = *value;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
    return lowered == "true" || lowered == "1";
}

upsert_options read_upsert_options(http::request const& request)
{
    upsert_options options;
    options.upsert = query_flag(request, "upsert");
    options.merge = query_flag(request, "merge");
    options.create_missing_related_entities = query_flag(request, "create_missing_related_entities");
    options.validation_only = query_flag(request, "validation_only");
    return options;
}

std::string datasource_of(http::request const& request)
{
    return std::string(request.header("User-Agent").value_or(""));
}

// Returns every value of a repeated query parameter, e.g. `include=a&include=b`.
std::vector<std::string> query_values(http::request const& request, std::string_view name)
{
    std::vector<std::string> values;
    auto const target = request.target();
    auto const question = target.find('?');
    if (question == std::string_view::npos)
        return values;
    auto const params = boost::urls::parse_query(target.substr(question + 1));
    if (!params)
        return values;
    for (auto const& param : *params)
        if (param.key.decode() == name && param.has_value)
            values.push_back(param.value.decode());
    return values;
}

std::string query_string(http::request const& request)
{
    auto const target = request.target();
    auto const question = target.find('?');
    return question == std::string_view::npos ? std::string() : std::string(target.substr(question + 1));
}

// Returns the entity identifiers in a JSON body, or none when the body is not JSON; the handler
// reports the invalid body itself.
std::vector<std::string> named_identifiers(http::request const& request)
{
    if (request.body().empty())
        return {};
    try {
        return body_identifiers(request.json());
    } catch (http::error_response const&) {
        return {};
    }
}

std::string param(http::request const& request, std::string_view name)
{
    return std::string(request.param(name));
}

} // namespace

emulator::emulator(emulator_options options, clock_function clock)
    : options_(std::move(options)), clock_(std::move(clock)), store_(options_.catalog, clock_)
{
    if (!clock_)
        clock_ = [] { return std::chrono::system_clock::now(); };
    if (options_.limit)
        limiter_.emplace(*options_.limit);
}

// ---------------------------------------------------------------------------------------------
// The /v1 request pipeline

asio::awaitable<http::response> emulator::serve_port(http::request const& request, api_handler const& handler,
                                                     bool needs_token)
{
    auto const arrived = clock_();
    request_record record{std::string(request.method()), std::string(request.path()), query_string(request), 0, arrived};

    std::optional<rate_decision> limit;
    if (limiter_)
        limit = limiter_->admit(arrived);

    http::response response;
    if (limit && !limit->allowed) {
        response = to_http(api_error(429, "too_many_requests",
                                     "rate limit of " + std::to_string(limit->limit) + " requests per " +
                                         std::to_string(limit->period_seconds) + " s exceeded; retry in " +
                                         std::to_string(limit->retry_after_seconds) + " s"));
        response.headers.set("Retry-After", std::to_string(limit->retry_after_seconds));
    } else if (auto injected = faults_.take(request.method(), request.path(), named_identifiers(request), arrived)) {
        if (injected->delay.count() > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor, injected->delay);
            co_await timer.async_wait(asio::use_awaitable);
        }
        if (injected->reset_connection) {
            log_.append(std::move(record));
            throw http::abort_connection("fault " + std::to_string(injected->id) + " resets the connection");
        }
        if (injected->status != 0) {
            json::value body = injected->body;
            if (body.is_null())
                body = api_error(injected->status, "injected_fault",
                                 "fault " + std::to_string(injected->id) + " injected through /_emulator/faults")
                           .body;
            response = http::response::json(body, injected->status);
            if (injected->retry_after.is_string())
                response.headers.set("Retry-After", std::string(injected->retry_after.as_string()));
            else if (injected->retry_after.is_number())
                response.headers.set("Retry-After", json::serialize(injected->retry_after));
            for (auto const& [name, value] : injected->headers)
                response.headers.set(name, std::string(value.as_string()));
        } else {
            response = to_http(run_checked(request, handler, needs_token));
        }
    } else {
        response = to_http(run_checked(request, handler, needs_token));
    }

    if (limit) {
        response.headers.set("x-ratelimit-limit", std::to_string(limit->limit));
        response.headers.set("x-ratelimit-remaining", std::to_string(limit->remaining));
        response.headers.set("x-ratelimit-reset", std::to_string(limit->reset_epoch));
        response.headers.set("x-ratelimit-period", std::to_string(limit->period_seconds));
    }
    record.status = response.status;
    log_.append(std::move(record));
    save_if_changed();
    co_return response;
}

api_result emulator::run_checked(http::request const& request, api_handler const& handler, bool needs_token)
{
    // Port rejects bodies over 1 MiB on every route. The server's own limit is set higher, so
    // bodies up to that limit get Port's error shape from here.
    if (request.body().size() > max_body_bytes)
        return api_error(413, "request_too_large",
                         "the request body has " + std::to_string(request.body().size()) + " bytes; the limit is " +
                             std::to_string(max_body_bytes));

    if (needs_token) {
        switch (store_.check_token(request.header("Authorization"))) {
        case token_check::valid: break;
        case token_check::missing:
            return api_error(401, "unauthorized",
                             "missing Authorization header; send 'Bearer <token>' from POST /v1/auth/access_token");
        case token_check::unknown:
            return api_error(401, "unauthorized", "invalid access token; request one from POST /v1/auth/access_token");
        case token_check::expired:
            return api_error(401, "unauthorized", "the access token expired; request a new one from POST /v1/auth/access_token");
        }
    }

    try {
        return handler(request);
    } catch (http::error_response const& e) {
        return api_error(e.status(), e.code(), e.what());
    }
}

void emulator::add_port_route(http::router& router, std::string_view method, std::string_view path, api_handler handler,
                              bool needs_token)
{
    // The handler lives in the router's std::function, which outlives every request it serves.
    router.add(
        method, path,
        [this, handler = std::move(handler), needs_token](http::request const& request) {
            return serve_port(request, handler, needs_token);
        },
        {}, {http::body_mode::raw});
}

void emulator::save_if_changed()
{
    if (store_.take_changes())
        save_state();
}

void emulator::add_routes(http::router& router)
{
    add_port_route(
        router, "POST", "/v1/auth/access_token",
        [this](http::request const& r) { return store_.issue_token(r.json()); }, false);

    // Integrations. Ocean checks these two at start-up; the emulator has no provisioning and no
    // feature flags.
    add_port_route(router, "GET", "/v1/integration/provision-enabled", [](http::request const&) {
        return api_result{200, json::object{{"ok", true}, {"integrations", json::array()}}};
    });
    add_port_route(router, "GET", "/v1/organization", [](http::request const&) {
        return api_result{200, json::object{{"ok", true},
                                            {"organization", json::object{{"id", "org_emulator"},
                                                                          {"name", "ocean-port-emulator"},
                                                                          {"featureFlags", json::array()}}}}};
    });
    add_port_route(router, "POST", "/v1/integration",
                   [this](http::request const& r) { return store_.create_integration(r.json()); });
    add_port_route(router, "GET", "/v1/integration/{integration}",
                   [this](http::request const& r) { return store_.get_integration(param(r, "integration")); });
    add_port_route(router, "PATCH", "/v1/integration/{integration}", [this](http::request const& r) {
        return store_.patch_integration(param(r, "integration"), r.json());
    });
    add_port_route(router, "PATCH", "/v1/integration/{integration}/config", [this](http::request const& r) {
        return store_.patch_integration_config(param(r, "integration"), r.json());
    });
    add_port_route(router, "PATCH", "/v1/integration/{integration}/resync-state", [this](http::request const& r) {
        return store_.patch_resync_state(param(r, "integration"), r.json());
    });
    add_port_route(router, "GET", "/v1/integration/{integration}/resync-request",
                   [this](http::request const& r) { return store_.get_resync_request(param(r, "integration")); });

    // Blueprints.
    add_port_route(router, "POST", "/v1/blueprints",
                   [this](http::request const& r) { return store_.create_blueprint(r.json()); });
    add_port_route(router, "GET", "/v1/blueprints/{blueprint}",
                   [this](http::request const& r) { return store_.get_blueprint(param(r, "blueprint")); });
    add_port_route(router, "PATCH", "/v1/blueprints/{blueprint}",
                   [this](http::request const& r) { return store_.patch_blueprint(param(r, "blueprint"), r.json()); });
    add_port_route(router, "DELETE", "/v1/blueprints/{blueprint}",
                   [this](http::request const& r) { return store_.delete_blueprint(param(r, "blueprint")); });

    // Entities.
    add_port_route(router, "POST", "/v1/blueprints/{blueprint}/entities", [this](http::request const& r) {
        return store_.upsert_entity(param(r, "blueprint"), r.json(), read_upsert_options(r), datasource_of(r));
    });
    add_port_route(router, "POST", "/v1/blueprints/{blueprint}/entities/bulk", [this](http::request const& r) {
        return store_.bulk_upsert(param(r, "blueprint"), r.json(), read_upsert_options(r), datasource_of(r));
    });
    add_port_route(router, "GET", "/v1/blueprints/{blueprint}/entities/{entity}", [this](http::request const& r) {
        return store_.get_entity(param(r, "blueprint"), param(r, "entity"));
    });
    add_port_route(router, "DELETE", "/v1/blueprints/{blueprint}/entities/{entity}", [this](http::request const& r) {
        return store_.delete_entity(param(r, "blueprint"), param(r, "entity"), query_flag(r, "delete_dependents"));
    });
    add_port_route(router, "POST", "/v1/blueprints/{blueprint}/bulk/entities/delete", [this](http::request const& r) {
        return store_.bulk_delete(param(r, "blueprint"), r.json(), query_flag(r, "delete_dependents"));
    });
    add_port_route(router, "POST", "/v1/blueprints/entities/datasource-entities",
                   [this](http::request const& r) { return store_.datasource_entities(r.json()); });
    add_port_route(router, "POST", "/v1/entities/search",
                   [this](http::request const& r) { return store_.search(r.json(), query_values(r, "include")); });

    add_inspection_routes(router);
}

// ---------------------------------------------------------------------------------------------
// /_emulator: inspection and fault injection, without authentication

void emulator::add_inspection_routes(http::router& router)
{
    auto json_route = [&router](std::string_view method, std::string_view path,
                                std::function<api_result(http::request const&)> handler) {
        router.add(
            method, path,
            [handler = std::move(handler)](http::request const& request) -> asio::awaitable<http::response> {
                try {
                    co_return to_http(handler(request));
                } catch (http::error_response const& e) {
                    co_return to_http(api_error(e.status(), e.code(), e.what()));
                }
            },
            {}, {http::body_mode::raw});
    };

    json_route("GET", "/_emulator/entities", [this](http::request const& r) {
        auto const blueprint = r.query("blueprint");
        return api_result{200, store_.entities_json(blueprint ? std::optional<std::string_view>(*blueprint) : std::nullopt)};
    });
    json_route("GET", "/_emulator/integrations",
               [this](http::request const&) { return api_result{200, store_.integrations_json()}; });
    json_route("GET", "/_emulator/blueprints",
               [this](http::request const&) { return api_result{200, store_.blueprints_json()}; });
    json_route("GET", "/_emulator/requests", [this](http::request const&) { return api_result{200, log_.to_json()}; });

    json_route("GET", "/_emulator/faults", [this](http::request const&) { return api_result{200, faults_.to_json(clock_())}; });
    json_route("POST", "/_emulator/faults", [this](http::request const& r) { return faults_.add(r.json(), clock_()); });
    json_route("DELETE", "/_emulator/faults", [this](http::request const&) {
        faults_.clear();
        return api_result{200, json::object{{"ok", true}}};
    });

    json_route("POST", "/_emulator/reset", [this](http::request const&) {
        store_.reset();
        log_.clear();
        faults_.clear();
        if (limiter_)
            limiter_->reset();
        save_if_changed();
        spdlog::info("emulator reset: entities, blueprints, integrations, request log and faults cleared");
        return api_result{200, json::object{{"ok", true}}};
    });

    // Body `{"integration": id}` or `?integration=id`; without either, the only integration.
    json_route("POST", "/_emulator/resync-request", [this](http::request const& r) {
        std::optional<std::string> identifier = r.query("integration");
        if (!identifier && !r.body().empty()) {
            auto const& body = r.json();
            if (auto const* id = body.is_object() ? body.as_object().if_contains("integration") : nullptr; id && id->is_string())
                identifier = std::string(id->as_string());
        }
        if (!identifier) {
            auto const all = store_.integrations_json();
            if (all.size() != 1)
                return api_error(422, "invalid_request",
                                 "name the integration as {\"integration\": id}; there are " + std::to_string(all.size()) +
                                     " integrations");
            identifier = std::string(all.front().as_object().at("identifier").as_string());
        }
        auto result = store_.request_resync(*identifier);
        save_if_changed();
        return result;
    });
}

// ---------------------------------------------------------------------------------------------
// State file

void emulator::load_state()
{
    auto const& path = options_.state_file;
    if (path.empty())
        return;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (std::filesystem::exists(path))
            throw std::runtime_error("cannot read state file " + path.string() + ": " + std::strerror(errno));
        spdlog::info("state file {} does not exist yet; starting empty", path.string());
        return;
    }
    std::stringstream content;
    content << in.rdbuf();
    boost::system::error_code ec;
    auto const document = json::parse(content.str(), ec);
    if (ec)
        throw std::runtime_error("state file " + path.string() + " is not valid JSON: " + ec.message());
    try {
        store_.load_state(document);
    } catch (std::exception const& e) {
        throw std::runtime_error("state file " + path.string() + " is invalid: " + e.what());
    }
    auto const state = store_.save_state();
    spdlog::info("loaded {} entities, {} blueprints and {} integrations from {}", state.at("entities").as_array().size(),
                 state.at("blueprints").as_array().size(), state.at("integrations").as_array().size(), path.string());
}

bool emulator::save_state()
{
    auto const& path = options_.state_file;
    if (path.empty())
        return true;
    auto const text = json::serialize(store_.save_state());
    auto temporary = path;
    temporary += ".tmp";

    // NOTE: the whole catalog is rewritten after every change, which is simple and fine for
    // emulator-sized catalogs but costs O(catalog) per write.
    std::FILE* file = std::fopen(temporary.c_str(), "wb");
    if (file == nullptr) {
        spdlog::error("cannot write state file {}: {}", temporary.string(), std::strerror(errno));
        return false;
    }
    bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    ok = std::fflush(file) == 0 && ok;
    ok = ::fsync(fileno(file)) == 0 && ok;
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
        spdlog::error("cannot write state file {}: {}", temporary.string(), std::strerror(errno));
        std::remove(temporary.c_str());
        return false;
    }
    std::error_code rename_error;
    std::filesystem::rename(temporary, path, rename_error);
    if (rename_error) {
        spdlog::error("cannot replace state file {}: {}", path.string(), rename_error.message());
        return false;
    }
    return true;
}

} // namespace ocean::emulator
