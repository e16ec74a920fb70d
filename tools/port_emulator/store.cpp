#include "store.hpp"

#include "search.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace ocean::emulator {
namespace json = boost::json;

namespace {

// Port's identifier pattern for entities: ^[A-Za-z0-9@_.+:\/=-]+$
bool valid_entity_identifier(std::string_view identifier)
{
    if (identifier.empty())
        return false;
    return std::all_of(identifier.begin(), identifier.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               std::string_view("@_.+:/=-").find(c) != std::string_view::npos;
    });
}

// Port's identifier pattern for blueprints: ^[A-Za-z0-9@_=\-]+$
bool valid_blueprint_identifier(std::string_view identifier)
{
    if (identifier.empty())
        return false;
    return std::all_of(identifier.begin(), identifier.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               std::string_view("@_=-").find(c) != std::string_view::npos;
    });
}

std::string text(json::string const& s)
{
    return std::string(s.data(), s.size());
}

api_result ok_with(std::string_view key, json::value value, unsigned status = 200)
{
    return {status, json::object{{"ok", true}, {key, std::move(value)}}};
}

api_result invalid(std::string message)
{
    return api_error(422, "invalid_request", std::move(message));
}

json::object const* body_object(json::value const& body)
{
    return body.is_object() ? &body.as_object() : nullptr;
}

std::string base64url(std::string_view bytes)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        auto const n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    if (i + 1 == bytes.size()) {
        auto const n = static_cast<unsigned char>(bytes[i]) << 16;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
    } else if (i + 2 == bytes.size()) {
        auto const n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
    }
    return out;
}

std::string to_hex(std::string_view bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex)
{
    if (hex.size() % 2 != 0)
        return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int const high = nibble(hex[i]);
        int const low = nibble(hex[i + 1]);
        if (high < 0 || low < 0)
            return std::nullopt;
        out += static_cast<char>(high * 16 + low);
    }
    return out;
}

// The datasource-entities cursor is the hex of "blueprint\nidentifier" of the last entity of the
// previous page, so paging stays stable while entities are added or removed between pages.
std::string make_cursor(std::string const& blueprint, std::string const& identifier)
{
    return to_hex(blueprint + '\n' + identifier);
}

std::optional<std::pair<std::string, std::string>> read_cursor(std::string_view cursor)
{
    auto const decoded = from_hex(cursor);
    if (!decoded)
        return std::nullopt;
    auto const newline = decoded->find('\n');
    if (newline == std::string::npos)
        return std::nullopt;
    return std::pair{decoded->substr(0, newline), decoded->substr(newline + 1)};
}

// The string identifiers a relation value names: a string, or an array of strings. Search-query
// values (objects) and null name none.
std::vector<std::string> relation_identifiers(json::value const& value)
{
    std::vector<std::string> out;
    if (value.is_string())
        out.push_back(text(value.as_string()));
    else if (value.is_array())
        for (auto const& element : value.as_array())
            if (element.is_string())
                out.push_back(text(element.as_string()));
    return out;
}

json::value time_value(time_point time)
{
    return json::value(format_iso_time(time));
}

time_point read_time(json::object const& object, std::string_view key, std::string_view what)
{
    auto const* value = object.if_contains(key);
    if (value == nullptr || !value->is_string())
        throw std::runtime_error(std::string(what) + " has no string \"" + std::string(key) + "\"");
    auto const parsed = parse_iso_time(value->as_string());
    if (!parsed)
        throw std::runtime_error(std::string(what) + " has an invalid time in \"" + std::string(key) +
                                 "\": " + json::serialize(*value));
    return *parsed;
}

} // namespace

api_result api_error(unsigned status, std::string_view code, std::string message)
{
    return {status, json::object{{"ok", false}, {"error", code}, {"message", std::move(message)}}};
}

json::object entity_record::to_json() const
{
    return json::object{
        {"identifier", identifier},
        {"blueprint", blueprint},
        {"title", title},
        {"icon", icon},
        {"team", team},
        {"properties", properties},
        {"relations", relations},
        {"datasource", datasource},
        {"createdAt", format_iso_time(created_at)},
        {"updatedAt", format_iso_time(updated_at)},
    };
}

entity_record entity_record::from_json(json::value const& value)
{
    if (!value.is_object())
        throw std::runtime_error("entity is not a JSON object: " + json::serialize(value));
    auto const& object = value.as_object();
    auto string_field = [&](std::string_view key) {
        auto const* field = object.if_contains(key);
        if (field == nullptr || !field->is_string())
            throw std::runtime_error("entity has no string \"" + std::string(key) + "\": " + json::serialize(value));
        return text(field->as_string());
    };
    auto object_field = [&](std::string_view key) {
        auto const* field = object.if_contains(key);
        if (field == nullptr)
            return json::object();
        if (!field->is_object())
            throw std::runtime_error("entity field \"" + std::string(key) + "\" is not an object: " + json::serialize(value));
        return field->as_object();
    };
    auto any_field = [&](std::string_view key) {
        auto const* field = object.if_contains(key);
        return field ? *field : json::value(nullptr);
    };

    entity_record record;
    record.identifier = string_field("identifier");
    record.blueprint = string_field("blueprint");
    record.title = any_field("title");
    record.icon = any_field("icon");
    record.team = any_field("team");
    record.properties = object_field("properties");
    record.relations = object_field("relations");
    record.datasource = object.contains("datasource") ? string_field("datasource") : std::string();
    auto const what = "entity " + record.blueprint + "/" + record.identifier;
    record.created_at = read_time(object, "createdAt", what);
    record.updated_at = read_time(object, "updatedAt", what);
    return record;
}

store::store(store_options options, clock_function clock)
    : options_(std::move(options)), clock_(std::move(clock)), random_(std::random_device{}())
{
    if (!clock_)
        clock_ = [] { return std::chrono::system_clock::now(); };
}

// ---------------------------------------------------------------------------------------------
// Tokens

api_result store::issue_token(json::value const& body)
{
    auto const* object = body_object(body);
    auto const* id = object ? object->if_contains("clientId") : nullptr;
    auto const* secret = object ? object->if_contains("clientSecret") : nullptr;
    if (id == nullptr || !id->is_string() || secret == nullptr || !secret->is_string())
        return invalid("the body must be {\"clientId\": string, \"clientSecret\": string}");
    if (id->as_string() != options_.client_id || secret->as_string() != options_.client_secret)
        return api_error(401, "unauthorized", "invalid client credentials for clientId '" + text(id->as_string()) + "'");

    auto const current = now();
    std::erase_if(tokens_, [&](auto const& entry) { return entry.second + options_.token_ttl < current; });

    // Port keeps one active token per credential set and hands it out again until it expires.
    // A token with less than a second left is not reused, so expiresIn is never 0, and at most
    // one token has a second or more left at any time.
    for (auto const& [token, expires] : tokens_) {
        auto const left = std::chrono::duration_cast<std::chrono::seconds>(expires - current);
        if (left.count() >= 1)
            return {200, json::object{{"accessToken", token}, {"expiresIn", left.count()}, {"tokenType", "Bearer"}}};
    }

    // The token looks like a JWT because clients decode its claims (Ocean reads "isMachine").
    // Its signature is random bytes, so a client that verifies signatures rejects it.
    auto random_bytes = [this](std::size_t count) {
        std::string bytes;
        for (std::size_t i = 0; i < count; ++i)
            bytes += static_cast<char>(random_() & 0xFF);
        return bytes;
    };
    auto const issued = epoch_seconds(current);
    auto const expires_epoch = issued + options_.token_ttl.count();
    json::object claims{{"sub", options_.client_id},   {"isMachine", true},
                        {"iat", issued},               {"exp", expires_epoch},
                        {"jti", to_hex(random_bytes(8))}};
    std::string token = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(json::serialize(claims)) + "." +
                        base64url(random_bytes(32));
    tokens_.emplace(token, current + options_.token_ttl);
    return {200, json::object{{"accessToken", token}, {"expiresIn", options_.token_ttl.count()}, {"tokenType", "Bearer"}}};
}

token_check store::check_token(std::optional<std::string_view> authorization) const
{
    if (!authorization)
        return token_check::missing;
    auto const value = *authorization;
    auto const space = value.find(' ');
    if (space == std::string_view::npos)
        return token_check::unknown;
    auto scheme = std::string(value.substr(0, space));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme != "bearer")
        return token_check::unknown;
    auto token = value.substr(space + 1);
    while (!token.empty() && token.front() == ' ')
        token.remove_prefix(1);
    auto const it = tokens_.find(token);
    if (it == tokens_.end())
        return token_check::unknown;
    return now() < it->second ? token_check::valid : token_check::expired;
}

// ---------------------------------------------------------------------------------------------
// Integrations

api_result store::get_integration(std::string_view identifier) const
{
    auto const it = integrations_.find(identifier);
    if (it == integrations_.end())
        return api_error(404, "not_found", "integration '" + std::string(identifier) + "' was not found");
    return ok_with("integration", it->second);
}

api_result store::create_integration(json::value const& body)
{
    auto const* object = body_object(body);
    if (object == nullptr)
        return invalid("the body must be a JSON object with \"installationId\"");
    auto const* id = object->if_contains("installationId");
    if (id == nullptr || !id->is_string() || !valid_entity_identifier(id->as_string()))
        return invalid("\"installationId\" must be a non-empty string of letters, digits and @_.+:/=-, got " +
                       (id ? json::serialize(*id) : std::string("nothing")));
    if (auto const* config = object->if_contains("config"); config && !config->is_object() && !config->is_null())
        return invalid("\"config\" must be an object, got " + json::serialize(*config));

    auto const identifier = text(id->as_string());
    if (integrations_.contains(identifier))
        return api_error(409, "conflict", "integration '" + identifier + "' already exists");

    auto const current = format_iso_time(now());
    json::object integration{
        {"identifier", identifier},
        {"installationId", identifier},
        {"installationAppType", nullptr},
        {"installationType", "OnPrem"},
        {"version", nullptr},
        {"config", json::object()},
        {"changelogDestination", nullptr},
        {"actionsProcessingEnabled", false},
        {"incrementalSyncEnabled", false},
        {"arePortResourcesInitialized", false},
        {"resyncState",
         json::object{{"status", nullptr},
                      {"lastResyncStart", nullptr},
                      {"lastResyncEnd", nullptr},
                      {"nextResync", nullptr},
                      {"intervalInMinuets", nullptr},
                      {"updatedAt", nullptr}}},
    };
    for (auto const& [key, value] : *object) {
        if (key == "identifier" || key == "resyncState" || key == "createdAt" || key == "updatedAt")
            continue;
        if (key == "config" && value.is_null())
            continue;
        integration[key] = value;
    }
    integration["createdAt"] = current;
    integration["updatedAt"] = current;
    integrations_[identifier] = integration;
    changed_ = true;
    return ok_with("integration", std::move(integration), 201);
}

api_result store::patch_integration(std::string_view identifier, json::value const& body)
{
    auto const it = integrations_.find(identifier);
    if (it == integrations_.end())
        return api_error(404, "not_found", "integration '" + std::string(identifier) + "' was not found");
    auto const* object = body_object(body);
    if (object == nullptr)
        return invalid("the body must be a JSON object of integration fields");
    for (auto const key : {"identifier", "installationId"}) {
        if (auto const* value = object->if_contains(key); value && *value != it->second.at(key))
            return invalid(std::string("\"") + key + "\" of an integration cannot change: '" + std::string(identifier) +
                           "' to " + json::serialize(*value));
    }
    if (auto const* config = object->if_contains("config"); config && !config->is_object())
        return invalid("\"config\" must be an object, got " + json::serialize(*config));

    auto& integration = it->second;
    for (auto const& [key, value] : *object) {
        if (key == "createdAt" || key == "updatedAt" || key == "resyncState")
            continue;
        integration[key] = value;
    }
    integration["updatedAt"] = format_iso_time(now());
    changed_ = true;
    return ok_with("integration", integration);
}

api_result store::patch_integration_config(std::string_view identifier, json::value const& body)
{
    auto const it = integrations_.find(identifier);
    if (it == integrations_.end())
        return api_error(404, "not_found", "integration '" + std::string(identifier) + "' was not found");
    auto const* object = body_object(body);
    auto const* config = object ? object->if_contains("config") : nullptr;
    if (config == nullptr || !config->is_object())
        return invalid("the body must be {\"config\": object}");
    it->second["config"] = *config;
    it->second["updatedAt"] = format_iso_time(now());
    changed_ = true;
    return ok_with("integration", it->second);
}

api_result store::patch_resync_state(std::string_view identifier, json::value const& body)
{
    auto const it = integrations_.find(identifier);
    if (it == integrations_.end())
        return api_error(404, "not_found", "integration '" + std::string(identifier) + "' was not found");
    auto const* object = body_object(body);
    if (object == nullptr)
        return invalid("the body must be a JSON object with \"status\"");

    auto const* status = object->if_contains("status");
    static constexpr std::array<std::string_view, 4> statuses{"running", "completed", "failed", "aborted"};
    if (status == nullptr || !status->is_string() ||
        std::find(statuses.begin(), statuses.end(), std::string_view(status->as_string())) == statuses.end())
        return invalid("\"status\" must be one of running, completed, failed, aborted; got " +
                       (status ? json::serialize(*status) : std::string("nothing")));

    json::object state{{"status", *status}};
    // "intervalInMinuets" is misspelt in Port's API itself; clients send it that way.
    for (auto const key : {"lastResyncStart", "lastResyncEnd", "nextResync"}) {
        auto const* value = object->if_contains(key);
        if (value && !value->is_null() && !(value->is_string() && parse_iso_time(value->as_string())))
            return invalid(std::string("\"") + key + "\" must be an ISO 8601 time or null, got " + json::serialize(*value));
        state[key] = value ? *value : json::value(nullptr);
    }
    auto const* interval = object->if_contains("intervalInMinuets");
    if (interval && !interval->is_null() && !interval->is_number())
        return invalid("\"intervalInMinuets\" must be a number or null, got " + json::serialize(*interval));
    state["intervalInMinuets"] = interval ? *interval : json::value(nullptr);
    state["updatedAt"] = format_iso_time(now());

    it->second["resyncState"] = std::move(state);
    changed_ = true;
    return ok_with("integration", it->second);
}

api_result store::get_resync_request(std::string_view identifier) const
{
    auto const it = integrations_.find(identifier);
    if (it == integrations_.end())
        return api_error(404, "not_found", "integration '" + std::string(identifier) + "' was not found");
    // Until someone requests a resync, the request's time is the integration's creation time.
    json::value updated_at = it->second.at("createdAt");
    if (auto const request = resync_requests_.find(identifier); request != resync_requests_.end())
        updated_at = time_value(request->second);
    return ok_with("request", json::object{{"integrationIdentifier", identifier}, {"updatedAt", updated_at}});
}

api_result store::request_resync(std::string_view identifier)
{
    if (!integrations_.contains(identifier))
        return api_error(404, "not_found", "integration '" + std::string(identifier) + "' was not found");
    auto const current = now();
    resync_requests_[std::string(identifier)] = current;
    changed_ = true;
    return ok_with("request", json::object{{"integrationIdentifier", identifier}, {"updatedAt", time_value(current)}});
}

// ---------------------------------------------------------------------------------------------
// Blueprints

api_result store::get_blueprint(std::string_view identifier) const
{
    auto const it = blueprints_.find(identifier);
    if (it == blueprints_.end())
        return api_error(404, "not_found", "blueprint '" + std::string(identifier) + "' was not found");
    return ok_with("blueprint", it->second);
}

namespace {

std::optional<std::string> invalid_relations(json::value const* relations)
{
    if (relations == nullptr || relations->is_null())
        return std::nullopt;
    if (!relations->is_object())
        return "\"relations\" must be an object, got " + json::serialize(*relations);
    for (auto const& [name, definition] : relations->as_object()) {
        auto const* target = definition.is_object() ? definition.as_object().if_contains("target") : nullptr;
        if (target == nullptr || !target->is_string())
            return "relation '" + std::string(name) + "' has no string \"target\" blueprint";
    }
    return std::nullopt;
}

} // namespace

api_result store::create_blueprint(json::value const& body)
{
    auto const* object = body_object(body);
    auto const* id = object ? object->if_contains("identifier") : nullptr;
    if (id == nullptr || !id->is_string() || !valid_blueprint_identifier(id->as_string()))
        return invalid("blueprint \"identifier\" must be a non-empty string of letters, digits and @_=-, got " +
                       (id ? json::serialize(*id) : std::string("nothing")));
    if (auto problem = invalid_relations(object->if_contains("relations")))
        return invalid(std::move(*problem));

    auto const identifier = text(id->as_string());
    if (blueprints_.contains(identifier))
        return api_error(409, "conflict", "blueprint '" + identifier + "' already exists");

    json::object blueprint = *object;
    if (!blueprint.contains("relations") || blueprint["relations"].is_null())
        blueprint["relations"] = json::object();
    auto const current = format_iso_time(now());
    blueprint["createdAt"] = current;
    blueprint["updatedAt"] = current;
    blueprints_[identifier] = blueprint;
    changed_ = true;
    return ok_with("blueprint", std::move(blueprint), 201);
}

api_result store::patch_blueprint(std::string_view identifier, json::value const& body)
{
    auto const it = blueprints_.find(identifier);
    if (it == blueprints_.end())
        return api_error(404, "not_found", "blueprint '" + std::string(identifier) + "' was not found");
    auto const* object = body_object(body);
    if (object == nullptr)
        return invalid("the body must be a JSON object of blueprint fields");
    if (auto const* id = object->if_contains("identifier"); id && *id != json::value(identifier))
        return invalid("a blueprint's identifier cannot change: '" + std::string(identifier) + "' to " + json::serialize(*id));
    if (auto problem = invalid_relations(object->if_contains("relations")))
        return invalid(std::move(*problem));

    for (auto const& [key, value] : *object) {
        if (key != "createdAt" && key != "updatedAt")
            it->second[key] = value;
    }
    it->second["updatedAt"] = format_iso_time(now());
    changed_ = true;
    return ok_with("blueprint", it->second);
}

api_result store::delete_blueprint(std::string_view identifier)
{
    auto const it = blueprints_.find(identifier);
    if (it == blueprints_.end())
        return api_error(404, "not_found", "blueprint '" + std::string(identifier) + "' was not found");
    auto const has_entities = std::any_of(entities_.begin(), entities_.end(),
                                          [&](auto const& entry) { return entry.first.first == identifier; });
    if (has_entities)
        return api_error(409, "conflict", "blueprint '" + std::string(identifier) + "' still has entities; delete them first");
    blueprints_.erase(it);
    changed_ = true;
    return {200, json::object{{"ok", true}}};
}

std::optional<api_result> store::check_blueprint_known(std::string_view blueprint) const
{
    if (!options_.strict_blueprints || blueprints_.contains(blueprint))
        return std::nullopt;
    return api_error(404, "not_found", "blueprint '" + std::string(blueprint) + "' was not found");
}

std::optional<std::string> store::relation_target(std::string_view blueprint, std::string_view relation) const
{
    auto const it = blueprints_.find(blueprint);
    if (it == blueprints_.end())
        return std::nullopt;
    auto const* relations = it->second.if_contains("relations");
    if (relations == nullptr || !relations->is_object())
        return std::nullopt;
    auto const* definition = relations->as_object().if_contains(relation);
    if (definition == nullptr || !definition->is_object())
        return std::nullopt;
    auto const* target = definition->as_object().if_contains("target");
    if (target == nullptr || !target->is_string())
        return std::nullopt;
    return text(target->as_string());
}

// ---------------------------------------------------------------------------------------------
// Entities

std::optional<store::entity_error> store::validate_entity(std::string_view blueprint, json::value const& value) const
{
    auto fail = [](std::string message) { return entity_error{422, "invalid_request", std::move(message)}; };
    if (!value.is_object())
        return fail("an entity must be a JSON object, got " + json::serialize(value));
    auto const& entity = value.as_object();

    auto const* identifier = entity.if_contains("identifier");
    if (identifier == nullptr)
        return fail("the entity has no \"identifier\"");
    if (!identifier->is_string())
        return fail("\"identifier\" must be a string, got " + json::serialize(*identifier));
    auto const id = text(identifier->as_string());
    if (!valid_entity_identifier(id))
        return fail("identifier '" + id + "' does not match ^[A-Za-z0-9@_.+:\\/=-]+$");

    auto const* title = entity.if_contains("title");
    if (title && !title->is_null() && !title->is_string())
        return fail("\"title\" of entity '" + id + "' must be a string, got " + json::serialize(*title));
    auto const* icon = entity.if_contains("icon");
    if (icon && !icon->is_null() && !icon->is_string())
        return fail("\"icon\" of entity '" + id + "' must be a string, got " + json::serialize(*icon));
    if (auto const* team = entity.if_contains("team"); team && !team->is_null() && !team->is_string() && !team->is_object()) {
        bool const strings = team->is_array() && std::all_of(team->as_array().begin(), team->as_array().end(),
                                                             [](json::value const& t) { return t.is_string(); });
        if (!strings)
            return fail("\"team\" of entity '" + id + "' must be a string or an array of strings, got " +
                        json::serialize(*team));
    }
    if (auto const* named = entity.if_contains("blueprint"); named && !named->is_null() && *named != json::value(blueprint))
        return fail("entity '" + id + "' names blueprint " + json::serialize(*named) + " but the request is for blueprint '" +
                    std::string(blueprint) + "'");

    for (auto const key : {"properties", "relations"}) {
        if (auto const* field = entity.if_contains(key); field && !field->is_object())
            return fail(std::string("\"") + key + "\" of entity '" + id + "' must be an object, got " + json::serialize(*field));
    }

    if (auto const* relations = entity.if_contains("relations")) {
        for (auto const& [name, target] : relations->as_object()) {
            if (!relation_target(blueprint, name))
                continue;
            bool const strings = target.is_array() && std::all_of(target.as_array().begin(), target.as_array().end(),
                                                                  [](json::value const& t) { return t.is_string(); });
            if (!target.is_null() && !target.is_string() && !target.is_object() && !strings)
                return fail("relation '" + std::string(name) + "' of entity '" + id +
                            "' must be an identifier, an array of identifiers, a search query or null, got " +
                            json::serialize(target));
        }
    }
    return std::nullopt;
}

std::variant<store::applied_entity, store::entity_error> store::apply_entity(std::string_view blueprint,
                                                                             json::object const& body,
                                                                             upsert_options const& options,
                                                                             std::string_view datasource,
                                                                             std::vector<std::string> const& same_request)
{
    auto const identifier = text(body.at("identifier").as_string());
    entity_key const key{std::string(blueprint), identifier};
    auto const existing = entities_.find(key);
    if (existing != entities_.end() && !options.upsert)
        return entity_error{409, "conflict",
                            "entity '" + identifier + "' of blueprint '" + std::string(blueprint) +
                                "' already exists; send upsert=true to update it"};

    // Relations are checked only where the blueprint defines the relation, because only then is
    // the target blueprint known.
    std::vector<entity_key> missing_targets;
    if (auto const* relations = body.if_contains("relations")) {
        for (auto const& [name, value] : relations->as_object()) {
            auto const target = relation_target(blueprint, name);
            if (!target)
                continue;
            for (auto const& target_id : relation_identifiers(value)) {
                entity_key const target_key{*target, target_id};
                bool const in_request = *target == blueprint &&
                                        std::find(same_request.begin(), same_request.end(), target_id) != same_request.end();
                if (entities_.contains(target_key) || in_request)
                    continue;
                if (!options.create_missing_related_entities)
                    return entity_error{404, "not_found",
                                        "related entity '" + target_id + "' of blueprint '" + *target + "' (relation '" +
                                            std::string(name) + "' of entity '" + identifier + "') was not found"};
                missing_targets.push_back(target_key);
            }
        }
    }

    auto const current = now();
    entity_record record;
    bool const merging = options.merge && existing != entities_.end();
    if (merging)
        record = existing->second;
    record.identifier = identifier;
    record.blueprint = std::string(blueprint);
    auto field = [&](std::string_view name) -> json::value const* { return body.if_contains(name); };
    if (!merging || field("title"))
        record.title = field("title") ? *field("title") : json::value(nullptr);
    if (!merging || field("icon"))
        record.icon = field("icon") ? *field("icon") : json::value(nullptr);
    if (!merging || field("team"))
        record.team = field("team") ? *field("team") : json::value(nullptr);
    for (auto const name : {"properties", "relations"}) {
        auto& target = std::string_view(name) == "properties" ? record.properties : record.relations;
        if (!merging)
            target = field(name) ? field(name)->as_object() : json::object();
        else if (field(name))
            for (auto const& [key_name, value] : field(name)->as_object())
                target[key_name] = value;
    }
    record.datasource = std::string(datasource);
    record.created_at = existing != entities_.end() ? existing->second.created_at : current;
    record.updated_at = current;

    if (!options.validation_only) {
        for (auto const& target_key : missing_targets) {
            if (entities_.contains(target_key))
                continue;
            entity_record bare;
            bare.blueprint = target_key.first;
            bare.identifier = target_key.second;
            bare.datasource = std::string(datasource);
            bare.created_at = current;
            bare.updated_at = current;
            entities_.emplace(target_key, std::move(bare));
        }
        entities_[key] = record;
        changed_ = true;
    }
    return applied_entity{std::move(record), existing == entities_.end()};
}

api_result store::upsert_entity(std::string_view blueprint, json::value const& body, upsert_options const& options,
                                 std::string_view datasource)
{
    if (auto unknown = check_blueprint_known(blueprint))
        return std::move(*unknown);
    if (auto problem = validate_entity(blueprint, body))
        return api_error(problem->status, problem->code, std::move(problem->message));

    auto outcome = apply_entity(blueprint, body.as_object(), options, datasource, {});
    if (auto* failure = std::get_if<entity_error>(&outcome))
        return api_error(failure->status, failure->code, std::move(failure->message));
    auto& applied = std::get<applied_entity>(outcome);
    return ok_with("entity", applied.record.to_json(), applied.created ? 201 : 200);
}

api_result store::bulk_upsert(std::string_view blueprint, json::value const& body, upsert_options const& options,
                              std::string_view datasource)
{
    if (auto unknown = check_blueprint_known(blueprint))
        return std::move(*unknown);
    auto const* object = body_object(body);
    auto const* entities = object ? object->if_contains("entities") : nullptr;
    if (entities == nullptr || !entities->is_array())
        return invalid("the body must be {\"entities\": [...]}");
    auto const& list = entities->as_array();
    if (list.empty() || list.size() > max_bulk_upsert_entities)
        return invalid("a bulk upsert takes 1 to " + std::to_string(max_bulk_upsert_entities) + " entities, got " +
                       std::to_string(list.size()));

    json::array succeeded;
    json::array errors;
    auto add_error = [&](std::size_t index, json::value identifier, entity_error const& problem) {
        errors.push_back(json::object{{"identifier", std::move(identifier)},
                                      {"index", index},
                                      {"statusCode", problem.status},
                                      {"error", problem.code},
                                      {"message", problem.message}});
    };

    // A relation may point at another entity of the same request, so those count as present.
    std::vector<std::optional<entity_error>> problems;
    std::vector<std::string> same_request;
    for (auto const& entity : list) {
        problems.push_back(validate_entity(blueprint, entity));
        if (!problems.back())
            same_request.push_back(text(entity.as_object().at("identifier").as_string()));
    }

    for (std::size_t index = 0; index < list.size(); ++index) {
        auto const& entity = list[index];
        json::value identifier = nullptr;
        if (entity.is_object())
            if (auto const* id = entity.as_object().if_contains("identifier"))
                identifier = *id;
        if (problems[index]) {
            add_error(index, identifier, *problems[index]);
            continue;
        }
        auto outcome = apply_entity(blueprint, entity.as_object(), options, datasource, same_request);
        if (auto const* failure = std::get_if<entity_error>(&outcome)) {
            add_error(index, identifier, *failure);
            continue;
        }
        succeeded.push_back(
            json::object{{"identifier", identifier}, {"index", index}, {"created", std::get<applied_entity>(outcome).created}});
    }

    // Any failed entity makes the status 207 Multi-Status.
    // NOTE: Port's status when every entity fails is unverified; the emulator sends 207 then too.
    unsigned const status = errors.empty() ? 200 : 207;
    return {status, json::object{{"ok", true}, {"entities", std::move(succeeded)}, {"errors", std::move(errors)}}};
}

api_result store::get_entity(std::string_view blueprint, std::string_view identifier) const
{
    auto const it = entities_.find(entity_key{std::string(blueprint), std::string(identifier)});
    if (it == entities_.end())
        return api_error(404, "not_found",
                         "entity '" + std::string(identifier) + "' of blueprint '" + std::string(blueprint) + "' was not found");
    return ok_with("entity", it->second.to_json());
}

std::vector<store::entity_key> store::collect_dependents(entity_key const& root) const
{
    std::vector<entity_key> found{root};
    for (std::size_t next = 0; next < found.size(); ++next) {
        auto const current = found[next];
        for (auto const& [key, record] : entities_) {
            if (std::find(found.begin(), found.end(), key) != found.end())
                continue;
            for (auto const& [name, value] : record.relations) {
                auto const target = relation_target(record.blueprint, name);
                if (!target || *target != current.first)
                    continue;
                auto const ids = relation_identifiers(value);
                if (std::find(ids.begin(), ids.end(), current.second) != ids.end()) {
                    found.push_back(key);
                    break;
                }
            }
        }
    }
    return found;
}

void store::erase_entities(std::vector<entity_key> const& keys)
{
    for (auto const& key : keys)
        entities_.erase(key);
    if (!keys.empty())
        changed_ = true;
}

api_result store::delete_entity(std::string_view blueprint, std::string_view identifier, bool delete_dependents)
{
    if (auto unknown = check_blueprint_known(blueprint))
        return std::move(*unknown);
    entity_key const key{std::string(blueprint), std::string(identifier)};
    if (!entities_.contains(key))
        return api_error(404, "not_found",
                         "entity '" + std::string(identifier) + "' of blueprint '" + std::string(blueprint) + "' was not found");
    erase_entities(delete_dependents ? collect_dependents(key) : std::vector<entity_key>{key});
    return {200, json::object{{"ok", true}}};
}

api_result store::bulk_delete(std::string_view blueprint, json::value const& body, bool delete_dependents)
{
    if (auto unknown = check_blueprint_known(blueprint))
        return std::move(*unknown);
    auto const* object = body_object(body);
    auto const* entities = object ? object->if_contains("entities") : nullptr;
    if (entities == nullptr || !entities->is_array())
        return invalid("the body must be {\"entities\": [identifiers]}");
    auto const& list = entities->as_array();
    if (list.empty() || list.size() > max_bulk_delete_entities)
        return invalid("a bulk delete takes 1 to " + std::to_string(max_bulk_delete_entities) + " identifiers, got " +
                       std::to_string(list.size()));
    for (std::size_t index = 0; index < list.size(); ++index) {
        if (!list[index].is_string())
            return invalid("entities[" + std::to_string(index) + "] must be an identifier string, got " +
                           json::serialize(list[index]));
    }

    json::array deleted;
    for (auto const& id : list) {
        entity_key const key{std::string(blueprint), text(id.as_string())};
        if (!entities_.contains(key))
            continue;
        erase_entities(delete_dependents ? collect_dependents(key) : std::vector<entity_key>{key});
        deleted.push_back(id);
    }
    return ok_with("deletedEntities", std::move(deleted));
}

api_result store::datasource_entities(json::value const& body) const
{
    auto const* object = body_object(body);
    if (object == nullptr)
        return invalid("the body must be a JSON object with \"datasource_prefix\" and \"datasource_suffix\"");

    auto string_member = [&](std::string_view key) -> std::optional<std::string> {
        auto const* value = object->if_contains(key);
        if (value == nullptr || value->is_null())
            return std::string();
        if (!value->is_string())
            return std::nullopt;
        return text(value->as_string());
    };
    auto const prefix = string_member("datasource_prefix");
    auto const suffix = string_member("datasource_suffix");
    if (!prefix || !suffix)
        return invalid("\"datasource_prefix\" and \"datasource_suffix\" must be strings");

    std::size_t limit = max_datasource_page;
    if (auto const* value = object->if_contains("limit"); value && !value->is_null()) {
        auto const number = value->is_int64() ? value->as_int64() : (value->is_uint64() ? static_cast<std::int64_t>(value->as_uint64()) : -1);
        if (number < 1 || number > static_cast<std::int64_t>(max_datasource_page))
            return invalid("\"limit\" must be an integer from 1 to " + std::to_string(max_datasource_page) + ", got " +
                           json::serialize(*value));
        limit = static_cast<std::size_t>(number);
    }

    std::optional<time_point> before;
    if (auto const* value = object->if_contains("before"); value && !value->is_null()) {
        if (value->is_string())
            before = parse_iso_time(value->as_string());
        if (!before)
            return invalid("\"before\" must be an ISO 8601 time, got " + json::serialize(*value));
    }

    auto start = entities_.begin();
    if (auto const* value = object->if_contains("from"); value && !value->is_null()) {
        auto const cursor = value->is_string() ? read_cursor(value->as_string()) : std::nullopt;
        if (!cursor)
            return invalid("\"from\" is not a cursor returned as \"next\" by this route: " + json::serialize(*value));
        start = entities_.upper_bound(*cursor);
    }

    json::array page;
    json::value next = nullptr;
    entity_key const* last = nullptr;
    for (auto it = start; it != entities_.end(); ++it) {
        auto const& record = it->second;
        if (!record.datasource.starts_with(*prefix) || !record.datasource.ends_with(*suffix))
            continue;
        if (before && !(record.updated_at < *before))
            continue;
        if (page.size() == limit) {
            next = make_cursor(last->first, last->second);
            break;
        }
        page.push_back(json::object{{"identifier", record.identifier}, {"blueprint", record.blueprint}});
        last = &it->first;
    }
    return {200, json::object{{"ok", true}, {"entities", std::move(page)}, {"next", std::move(next)}}};
}

api_result store::search(json::value const& body, std::vector<std::string> const& include) const
{
    try {
        validate_query(body);
    } catch (query_error const& e) {
        return invalid(std::string("invalid search query: ") + e.what());
    }
    json::array found;
    for (auto const& [key, record] : entities_) {
        auto const entity = record.to_json();
        if (matches_query(body.as_object(), entity))
            found.push_back(project_entity(entity, include));
    }
    return ok_with("entities", std::move(found));
}

// ---------------------------------------------------------------------------------------------
// Inspection and persistence

json::array store::entities_json(std::optional<std::string_view> blueprint) const
{
    json::array out;
    for (auto const& [key, record] : entities_)
        if (!blueprint || key.first == *blueprint)
            out.push_back(record.to_json());
    return out;
}

json::array store::integrations_json() const
{
    json::array out;
    for (auto const& [identifier, integration] : integrations_)
        out.push_back(integration);
    return out;
}

json::array store::blueprints_json() const
{
    json::array out;
    for (auto const& [identifier, blueprint] : blueprints_)
        out.push_back(blueprint);
    return out;
}

json::object store::save_state() const
{
    json::object resync_requests;
    for (auto const& [identifier, time] : resync_requests_)
        resync_requests[identifier] = format_iso_time(time);
    return json::object{{"version", 1},
                        {"blueprints", blueprints_json()},
                        {"integrations", integrations_json()},
                        {"resyncRequests", std::move(resync_requests)},
                        {"entities", entities_json(std::nullopt)}};
}

void store::load_state(json::value const& state)
{
    if (!state.is_object())
        throw std::runtime_error("the state is not a JSON object");
    auto const& document = state.as_object();
    if (auto const* version = document.if_contains("version"); version == nullptr || *version != json::value(1))
        throw std::runtime_error("unsupported state \"version\" (expected 1)");

    auto array_member = [&](std::string_view key) -> json::array const& {
        auto const* value = document.if_contains(key);
        if (value == nullptr || !value->is_array())
            throw std::runtime_error("the state has no array \"" + std::string(key) + "\"");
        return value->as_array();
    };
    auto identified = [](json::value const& item, std::string_view what) {
        auto const* id = item.is_object() ? item.as_object().if_contains("identifier") : nullptr;
        if (id == nullptr || !id->is_string())
            throw std::runtime_error(std::string(what) + " without a string \"identifier\": " + json::serialize(item));
        return text(id->as_string());
    };

    decltype(blueprints_) blueprints;
    for (auto const& item : array_member("blueprints"))
        blueprints[identified(item, "blueprint")] = item.as_object();
    decltype(integrations_) integrations;
    for (auto const& item : array_member("integrations"))
        integrations[identified(item, "integration")] = item.as_object();
    decltype(entities_) entities;
    for (auto const& item : array_member("entities")) {
        auto record = entity_record::from_json(item);
        entity_key key{record.blueprint, record.identifier};
        entities[std::move(key)] = std::move(record);
    }
    decltype(resync_requests_) resync_requests;
    if (auto const* requests = document.if_contains("resyncRequests"); requests && requests->is_object()) {
        for (auto const& [identifier, time] : requests->as_object())
            resync_requests[std::string(identifier)] = read_time(requests->as_object(), identifier, "resyncRequests");
    }

    blueprints_ = std::move(blueprints);
    integrations_ = std::move(integrations);
    entities_ = std::move(entities);
    resync_requests_ = std::move(resync_requests);
}

void store::reset()
{
    blueprints_.clear();
    integrations_.clear();
    entities_.clear();
    resync_requests_.clear();
    changed_ = true;
}

} // namespace ocean::emulator
