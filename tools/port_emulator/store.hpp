// The emulator's catalog: tokens, integrations, blueprints and entities, with Port's rules.
// Sans-I/O: each operation takes parsed JSON and returns Port's status and body, so tests and a
// fuzzer can drive it without sockets. Not thread-safe; the emulator serves from one thread.
#pragma once

#include "iso_time.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ocean::emulator {

/// The source of "now" for timestamps and token expiry; tests inject a fake one.
using clock_function = std::function<time_point()>;

/// Port's limits, as documented for its public API.
inline constexpr std::size_t max_body_bytes = 1024 * 1024;
inline constexpr std::size_t max_bulk_upsert_entities = 20;
inline constexpr std::size_t max_bulk_delete_entities = 100;
inline constexpr std::size_t max_datasource_page = 5000;

/// The outcome of one API operation: the HTTP status and Port's JSON body.
struct api_result {
    unsigned status = 200;
    boost::json::value body;
};

/// Builds Port's error response `{"ok":false,"error":code,"message":message}`.
api_result api_error(unsigned status, std::string_view code, std::string message);

struct store_options {
    std::string client_id = "local-client-id";
    std::string client_secret = "local-client-secret";
    /// Lifetime of an access token; Port's is 3 hours.
    std::chrono::seconds token_ttl{10800};
    /// Reject entities of blueprints that were not created (404) instead of accepting any.
    bool strict_blueprints = false;
};

/// Query parameters of the entity write routes.
struct upsert_options {
    /// Update an existing entity; without it an existing identifier fails with 409.
    bool upsert = false;
    /// Merge properties and relations into the existing entity instead of replacing them.
    bool merge = false;
    /// Create a bare target entity for a relation to a missing entity instead of failing with 404.
    bool create_missing_related_entities = false;
    /// Validate only; store nothing.
    bool validation_only = false;
};

/// Outcome of checking an Authorization header.
enum class token_check { valid, missing, unknown, expired };

/// One stored entity.
struct entity_record {
    std::string identifier;
    std::string blueprint;
    /// Null when the writer gave none.
    boost::json::value title;
    boost::json::value icon;
    boost::json::value team;
    boost::json::object properties;
    boost::json::object relations;
    /// The User-Agent of the last write, e.g. `port-ocean/my-type/0.1.0/my-id/exporter`.
    std::string datasource;
    time_point created_at;
    time_point updated_at;

    /// Serialises with every field, timestamps as ISO 8601 UTC with milliseconds.
    boost::json::object to_json() const;

    /// Reads what to_json() wrote; throws std::runtime_error naming the bad field.
    static entity_record from_json(boost::json::value const& value);
};

class store {
public:
    explicit store(store_options options, clock_function clock = {});

    store_options const& options() const noexcept { return options_; }

    // Tokens.
    api_result issue_token(boost::json::value const& body);
    token_check check_token(std::optional<std::string_view> authorization) const;

    // Integrations.
    api_result get_integration(std::string_view identifier) const;
    api_result create_integration(boost::json::value const& body);
    api_result patch_integration(std::string_view identifier, boost::json::value const& body);
    api_result patch_integration_config(std::string_view identifier, boost::json::value const& body);
    api_result patch_resync_state(std::string_view identifier, boost::json::value const& body);
    api_result get_resync_request(std::string_view identifier) const;
    /// Records a resync request for the integration now, as Port does when a user clicks "resync".
    api_result request_resync(std::string_view identifier);

    // Blueprints.
    api_result get_blueprint(std::string_view identifier) const;
    api_result create_blueprint(boost::json::value const& body);
    api_result patch_blueprint(std::string_view identifier, boost::json::value const& body);
    api_result delete_blueprint(std::string_view identifier);

    // Entities. `datasource` is the request's User-Agent.
    api_result upsert_entity(std::string_view blueprint, boost::json::value const& body, upsert_options const& options,
                             std::string_view datasource);
    api_result bulk_upsert(std::string_view blueprint, boost::json::value const& body, upsert_options const& options,
                           std::string_view datasource);
    api_result get_entity(std::string_view blueprint, std::string_view identifier) const;
    api_result delete_entity(std::string_view blueprint, std::string_view identifier, bool delete_dependents);
    api_result bulk_delete(std::string_view blueprint, boost::json::value const& body, bool delete_dependents);
    api_result datasource_entities(boost::json::value const& body) const;
    /// Runs a `{combinator, rules}` query; `include` keeps only the named fields (`properties.x`).
    api_result search(boost::json::value const& body, std::vector<std::string> const& include) const;

    // Inspection, sorted by blueprint and then identifier so the output is deterministic.
    boost::json::array entities_json(std::optional<std::string_view> blueprint) const;
    boost::json::array integrations_json() const;
    boost::json::array blueprints_json() const;

    /// Returns entities, blueprints and integrations as one JSON document for the state file.
    boost::json::object save_state() const;
    /// Replaces the catalog with a document written by save_state(); throws std::runtime_error
    /// naming the bad field and leaves the catalog unchanged.
    void load_state(boost::json::value const& state);

    /// Clears entities, blueprints and integrations. Credentials and issued tokens stay valid.
    void reset();

    /// Returns true once after any change to entities, blueprints or integrations.
    bool take_changes() noexcept { return std::exchange(changed_, false); }

private:
    using entity_key = std::pair<std::string, std::string>;

    struct entity_error {
        unsigned status;
        std::string code;
        std::string message;
    };

    struct applied_entity {
        entity_record record;
        bool created;
    };

    time_point now() const { return clock_(); }
    std::optional<api_result> check_blueprint_known(std::string_view blueprint) const;
    std::optional<std::string> relation_target(std::string_view blueprint, std::string_view relation) const;
    std::optional<entity_error> validate_entity(std::string_view blueprint, boost::json::value const& value) const;
    std::variant<applied_entity, entity_error> apply_entity(std::string_view blueprint, boost::json::object const& body,
                                                            upsert_options const& options, std::string_view datasource,
                                                            std::vector<std::string> const& same_request);
    std::vector<entity_key> collect_dependents(entity_key const& root) const;
    void erase_entities(std::vector<entity_key> const& keys);

    store_options options_;
    clock_function clock_;
    std::mt19937_64 random_;
    std::map<std::string, time_point, std::less<>> tokens_;
    std::map<std::string, boost::json::object, std::less<>> integrations_;
    std::map<std::string, time_point, std::less<>> resync_requests_;
    std::map<std::string, boost::json::object, std::less<>> blueprints_;
    std::map<entity_key, entity_record> entities_;
    bool changed_ = false;
};

} // namespace ocean::emulator
