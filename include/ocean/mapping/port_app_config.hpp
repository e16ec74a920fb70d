// The port-app-config model: how raw third-party items become Port entities.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::mapping {

/// One entry of `resources[]`.
struct resource_config {
    std::string kind;
    /// jq program that must yield a boolean; `true` when absent.
    std::string selector_query = "true";
    /// `port.entity.mappings` as written: string leaves are jq programs; identifier, team and
    /// relations may be search-query objects `{combinator, rules: [{property, operator, value}]}`.
    boost::json::object mappings;
    std::optional<std::string> items_to_parse;
    std::string items_to_parse_name = "item";
    bool items_to_parse_top_level_transform = true;
};

/// The whole port-app-config document.
struct port_app_config {
    bool enable_merge_entity = true;
    bool delete_dependent_entities = true;
    bool create_missing_related_entities = true;
    double entity_deletion_threshold = 0.9;
    std::vector<resource_config> resources;

    /// Parses YAML text. Throws ocean::config_error naming the bad field's path
    /// (e.g. `resources[1].port.entity.mappings.blueprint`).
    static port_app_config from_yaml(std::string_view text);

    /// Parses the JSON form (the `config` member of Port's integration object). Every jq program
    /// is compiled once, so a syntax error is reported here with jq's message and the field path.
    static port_app_config from_json(boost::json::value const& v);

    /// Loads a `.yml`, `.yaml` or `.json` file; the error names the file.
    static port_app_config load_file(std::string const& path);

    /// Returns the JSON form that Port's API takes (camelCase keys).
    boost::json::object to_json() const;

    /// Returns the resources of `kind`, in document order.
    std::vector<resource_config const*> resources_of(std::string_view kind) const;
};

} // namespace ocean::mapping
