#include <ocean/error.hpp>
#include <ocean/mapping/port_app_config.hpp>

#include "mapping/item_view.hpp"
#include "mapping/jq_runtime.hpp"
#include "mapping/native_expression.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace ocean::mapping {

namespace json = boost::json;

namespace {

[[noreturn]] void fail(std::string const& path, std::string const& what)
{
    throw config_error(path + ": " + what);
}

[[noreturn]] void fail_type(std::string const& path, char const* expected, json::value const& found)
{
    fail(path, std::string("expected ") + expected + ", got " + detail::jq_type_name(found));
}

std::string member_path(std::string const& parent, std::string_view key)
{
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// ---- YAML to JSON -------------------------------------------------------------------------------

/// Resolves an untagged plain scalar the way YAML 1.2's core schema does (null, bool, int, float),
/// so `entityDeletionThreshold: 0.5` is a number and `enableMergeEntity: false` a boolean.
json::value plain_scalar(std::string const& text)
{
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
        return nullptr;
    if (text == "true" || text == "True" || text == "TRUE")
        return true;
    if (text == "false" || text == "False" || text == "FALSE")
        return false;

    static std::regex const integer(R"([-+]?[0-9]+)");
    static std::regex const real(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(text, integer)) {
        auto const* first = text.data() + (text[0] == '+' ? 1 : 0);
        auto const* last = text.data() + text.size();
        std::int64_t signed_value = 0;
        if (std::from_chars(first, last, signed_value).ec == std::errc{})
            return signed_value;
        std::uint64_t unsigned_value = 0;
        if (std::from_chars(first, last, unsigned_value).ec == std::errc{})
            return unsigned_value;
        return json::string(text);
    }
    if (std::regex_match(text, real))
        return std::strtod(text.c_str(), nullptr);
    return json::string(text);
}

json::value yaml_to_json(YAML::Node const& node)
{
    switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
        return nullptr;
    case YAML::NodeType::Scalar: {
        // Quoted and block scalars carry the tag "!" and are always strings.
        if (node.Tag() == "?")
            return plain_scalar(node.Scalar());
        return json::string(node.Scalar());
    }
    case YAML::NodeType::Sequence: {
        json::array out;
        for (auto const& element : node)
            out.push_back(yaml_to_json(element));
        return out;
    }
    case YAML::NodeType::Map: {
        json::object out;
        for (auto const& member : node) {
            // JSON object keys are strings, so a complex key (`? [a, b]: x`) or a null key has no
            // JSON form. yaml-cpp would throw its own exception type from as<std::string>().
            if (!member.first.IsScalar()) {
                auto const mark = member.first.Mark();
                throw config_error("invalid YAML at line " + std::to_string(mark.line + 1) + ", column " +
                                   std::to_string(mark.column + 1) +
                                   ": a mapping key must be a string, not a sequence, mapping or null");
            }
            out[member.first.Scalar()] = yaml_to_json(member.second);
        }
        return out;
    }
    }
    return nullptr;
}

// ---- validation ---------------------------------------------------------------------------------

bool read_bool(json::object const& object, std::string_view key, std::string const& path, bool fallback)
{
    auto const* value = object.if_contains(key);
    if (value == nullptr || value->is_null())
        return fallback;
    if (!value->is_bool())
        fail_type(member_path(path, key), "a boolean", *value);
    return value->get_bool();
}

/// Returns a jq program as text. Numbers and booleans are accepted as the constant programs they
/// spell, because YAML turns an unquoted `1` or `true` into a number or a boolean.
std::string read_program_text(json::value const& value, std::string const& path)
{
    if (value.is_string())
        return std::string(value.get_string());
    if (value.is_bool() || value.is_number())
        return json::serialize(value);
    fail_type(path, "a jq program (string)", value);
}

/// Compiles a program once to report syntax errors at load, with the field's path. Programs of
/// the native subset are valid jq by construction, and skipping them saves a jq 1.6 compilation
/// (tens of milliseconds each, most of it building jq's builtin library).
void check_program(std::string const& program, std::string const& path)
{
    auto const rewritten = detail::rewrite_single_quotes(program);
    if (detail::native_expression::parse(rewritten))
        return;
    detail::jq_program(path, rewritten);
}

json::value read_program(json::value const& value, std::string const& path)
{
    std::string text = read_program_text(value, path);
    check_program(text, path);
    return json::string(text);
}

bool is_search_query(json::value const& value)
{
    return value.is_object();
}

/// Validates a search query `{combinator, rules: [{property, operator, value} | query]}` whose
/// leaves are jq programs, and returns it with every leaf as a string.
json::value read_search_query(json::value const& value, std::string const& path)
{
    auto const& object = value.get_object();
    json::object out;

    auto const* combinator = object.if_contains("combinator");
    if (combinator == nullptr)
        fail(member_path(path, "combinator"), "missing (a search query needs a combinator and rules)");
    out["combinator"] = read_program(*combinator, member_path(path, "combinator"));

    auto const* rules = object.if_contains("rules");
    if (rules == nullptr)
        fail(member_path(path, "rules"), "missing (a search query needs a combinator and rules)");
    if (!rules->is_array())
        fail_type(member_path(path, "rules"), "an array", *rules);

    json::array out_rules;
    std::size_t index = 0;
    for (auto const& rule : rules->get_array()) {
        auto const rule_path = member_path(path, "rules") + "[" + std::to_string(index++) + "]";
        if (!rule.is_object())
            fail_type(rule_path, "an object", rule);
        auto const& rule_object = rule.get_object();
        if (rule_object.contains("rules")) {
            out_rules.push_back(read_search_query(rule, rule_path));
            continue;
        }
        json::object out_rule;
        for (std::string_view key : {"property", "operator", "value"}) {
            auto const* leaf = rule_object.if_contains(key);
            if (leaf == nullptr)
                fail(member_path(rule_path, key), "missing");
            out_rule[key] = read_program(*leaf, member_path(rule_path, key));
        }
        out_rules.push_back(std::move(out_rule));
    }
    out["rules"] = std::move(out_rules);
    return out;
}

json::value read_program_or_query(json::value const& value, std::string const& path)
{
    if (is_search_query(value))
        return read_search_query(value, path);
    return read_program(value, path);
}

json::object read_mappings(json::value const& value, std::string const& path)
{
    if (!value.is_object())
        fail_type(path, "an object", value);
    auto const& in = value.get_object();
    json::object out;

    auto const* identifier = in.if_contains("identifier");
    if (identifier == nullptr || identifier->is_null())
        fail(member_path(path, "identifier"), "missing (every entity needs an identifier)");
    out["identifier"] = read_program_or_query(*identifier, member_path(path, "identifier"));

    auto const* blueprint = in.if_contains("blueprint");
    if (blueprint == nullptr || blueprint->is_null())
        fail(member_path(path, "blueprint"), "missing (every entity needs a blueprint)");
    out["blueprint"] = read_program(*blueprint, member_path(path, "blueprint"));

    for (std::string_view key : {"title", "icon"}) {
        if (auto const* field = in.if_contains(key); field != nullptr && !field->is_null())
            out[key] = read_program(*field, member_path(path, key));
    }
    if (auto const* team = in.if_contains("team"); team != nullptr && !team->is_null())
        out["team"] = read_program_or_query(*team, member_path(path, "team"));

    for (std::string_view group : {"properties", "relations"}) {
        json::object fields;
        if (auto const* members = in.if_contains(group); members != nullptr && !members->is_null()) {
            auto const group_path = member_path(path, group);
            if (!members->is_object())
                fail_type(group_path, "an object", *members);
            for (auto const& member : members->get_object()) {
                auto const field_path = member_path(group_path, member.key());
                fields[member.key()] = group == "relations" ? read_program_or_query(member.value(), field_path)
                                                            : read_program(member.value(), field_path);
            }
        }
        out[group] = std::move(fields);
    }
    return out;
}

resource_config read_resource(json::value const& value, std::string const& path)
{
    if (!value.is_object())
        fail_type(path, "an object", value);
    auto const& object = value.get_object();
    resource_config resource;

    auto const* kind = object.if_contains("kind");
    if (kind == nullptr)
        fail(member_path(path, "kind"), "missing");
    if (!kind->is_string())
        fail_type(member_path(path, "kind"), "a string", *kind);
    if (kind->get_string().empty())
        fail(member_path(path, "kind"), "must not be empty");
    resource.kind = std::string(kind->get_string());

    if (auto const* selector = object.if_contains("selector"); selector != nullptr && !selector->is_null()) {
        auto const selector_path = member_path(path, "selector");
        if (!selector->is_object())
            fail_type(selector_path, "an object", *selector);
        if (auto const* query = selector->get_object().if_contains("query"); query != nullptr && !query->is_null())
            resource.selector_query = read_program(*query, member_path(selector_path, "query")).get_string();
    }

    auto const port_path = member_path(path, "port");
    auto const* port = object.if_contains("port");
    if (port == nullptr)
        fail(port_path, "missing");
    if (!port->is_object())
        fail_type(port_path, "an object", *port);
    auto const& port_object = port->get_object();

    auto const entity_path = member_path(port_path, "entity");
    auto const* entity = port_object.if_contains("entity");
    if (entity == nullptr)
        fail(entity_path, "missing");
    if (!entity->is_object())
        fail_type(entity_path, "an object", *entity);
    auto const* mappings = entity->get_object().if_contains("mappings");
    if (mappings == nullptr)
        fail(member_path(entity_path, "mappings"), "missing");
    resource.mappings = read_mappings(*mappings, member_path(entity_path, "mappings"));

    if (auto const* items = port_object.if_contains("itemsToParse"); items != nullptr && !items->is_null())
        resource.items_to_parse = read_program(*items, member_path(port_path, "itemsToParse")).get_string();

    if (auto const* name = port_object.if_contains("itemsToParseName"); name != nullptr && !name->is_null()) {
        auto const name_path = member_path(port_path, "itemsToParseName");
        if (!name->is_string())
            fail_type(name_path, "a string", *name);
        if (name->get_string().empty())
            fail(name_path, "must not be empty");
        resource.items_to_parse_name = std::string(name->get_string());
    }
    resource.items_to_parse_top_level_transform =
        read_bool(port_object, "itemsToParseTopLevelTransform", port_path, true);
    return resource;
}

} // namespace

port_app_config port_app_config::from_json(json::value const& v)
{
    if (!v.is_object())
        throw config_error("port-app-config: expected an object, got " + std::string(detail::jq_type_name(v)));
    auto const& object = v.get_object();
    port_app_config config;

    config.enable_merge_entity = read_bool(object, "enableMergeEntity", "", true);
    config.delete_dependent_entities = read_bool(object, "deleteDependentEntities", "", true);
    config.create_missing_related_entities = read_bool(object, "createMissingRelatedEntities", "", true);

    if (auto const* threshold = object.if_contains("entityDeletionThreshold");
        threshold != nullptr && !threshold->is_null()) {
        if (!threshold->is_number())
            fail_type("entityDeletionThreshold", "a number", *threshold);
        double const value = threshold->to_number<double>();
        if (!(value >= 0.0 && value <= 1.0))
        {
            std::ostringstream text;
            text << value;
            fail("entityDeletionThreshold", "must be between 0 and 1, got " + text.str());
        }
        config.entity_deletion_threshold = value;
    }

    if (auto const* resources = object.if_contains("resources"); resources != nullptr && !resources->is_null()) {
        if (!resources->is_array())
            fail_type("resources", "an array", *resources);
        std::size_t index = 0;
        for (auto const& resource : resources->get_array()) {
            config.resources.push_back(read_resource(resource, "resources[" + std::to_string(index) + "]"));
            ++index;
        }
    }
    return config;
}

port_app_config port_app_config::from_yaml(std::string_view text)
{
    json::value document;
    try {
        // Conversion can throw too, for a mapping key that is itself a sequence or a mapping.
        document = yaml_to_json(YAML::Load(std::string(text)));
    } catch (YAML::Exception const& e) {
        throw config_error("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    return from_json(document);
}

port_app_config port_app_config::load_file(std::string const& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw config_error(path + ": cannot open the file for reading");
    std::ostringstream buffer;
    buffer << file.rdbuf();
    auto const text = buffer.str();

    try {
        if (path.ends_with(".json")) {
            boost::system::error_code ec;
            auto const document = json::parse(text, ec);
            if (ec)
                throw config_error("invalid JSON: " + ec.message());
            return from_json(document);
        }
        if (path.ends_with(".yml") || path.ends_with(".yaml"))
            return from_yaml(text);
    } catch (config_error const& e) {
        throw config_error(path + ": " + e.what());
    }
    throw config_error(path + ": unsupported file extension (expected .yml, .yaml or .json)");
}

json::object port_app_config::to_json() const
{
    json::object out;
    out["enableMergeEntity"] = enable_merge_entity;
    out["deleteDependentEntities"] = delete_dependent_entities;
    out["createMissingRelatedEntities"] = create_missing_related_entities;
    out["entityDeletionThreshold"] = entity_deletion_threshold;

    json::array out_resources;
    for (auto const& resource : resources) {
        json::object port;
        port["entity"] = json::object{{"mappings", resource.mappings}};
        if (resource.items_to_parse) {
            port["itemsToParse"] = *resource.items_to_parse;
            port["itemsToParseName"] = resource.items_to_parse_name;
            port["itemsToParseTopLevelTransform"] = resource.items_to_parse_top_level_transform;
        }
        json::object item;
        item["kind"] = resource.kind;
        item["selector"] = json::object{{"query", resource.selector_query}};
        item["port"] = std::move(port);
        out_resources.push_back(std::move(item));
    }
    out["resources"] = std::move(out_resources);
    return out;
}

std::vector<resource_config const*> port_app_config::resources_of(std::string_view kind) const
{
    std::vector<resource_config const*> out;
    for (auto const& resource : resources) {
        if (resource.kind == kind)
            out.push_back(&resource);
    }
    return out;
}

} // namespace ocean::mapping
