#include "search.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <string_view>

namespace ocean::emulator {
namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 17> known_operators{
    "=",           "!=",         "in",           "notIn",       "contains",          "doesNotContains",
    "containsAny", "beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith", "isEmpty",
    "isNotEmpty",  ">",          ">=",           "<",           "<="};

bool needs_no_value(std::string_view op)
{
    return op == "isEmpty" || op == "isNotEmpty";
}

std::string describe(json::value const& rule)
{
    return json::serialize(rule);
}

json::value field_of(json::object const& rule, json::object const& entity)
{
    if (auto const* relation = rule.if_contains("relation")) {
        auto const* relations = entity.if_contains("relations");
        if (relations == nullptr || !relations->is_object() || !relation->is_string())
            return nullptr;
        auto const* value = relations->as_object().if_contains(relation->as_string());
        return value ? *value : json::value(nullptr);
    }

    auto const& property = rule.at("property").as_string();
    std::string_view const name(property.data(), property.size());
    if (name.starts_with('$')) {
        auto const* value = entity.if_contains(name.substr(1));
        return value ? *value : json::value(nullptr);
    }
    auto const* properties = entity.if_contains("properties");
    if (properties == nullptr || !properties->is_object())
        return nullptr;
    auto const* value = properties->as_object().if_contains(name);
    return value ? *value : json::value(nullptr);
}

bool is_empty_value(json::value const& value)
{
    if (value.is_null())
        return true;
    if (value.is_string())
        return value.as_string().empty();
    if (value.is_array())
        return value.as_array().empty();
    if (value.is_object())
        return value.as_object().empty();
    return false;
}

bool contains_element(json::array const& list, json::value const& element)
{
    return std::find(list.begin(), list.end(), element) != list.end();
}

// Orders numbers numerically and strings lexicographically (ISO times then compare in time
// order); returns nullopt for any other pair, which makes the comparison false.
std::optional<int> compare(json::value const& left, json::value const& right)
{
    if (left.is_number() && right.is_number()) {
        auto const a = left.to_number<double>();
        auto const b = right.to_number<double>();
        return a < b ? -1 : (a > b ? 1 : 0);
    }
    if (left.is_string() && right.is_string()) {
        auto const order = left.as_string().compare(right.as_string());
        return order < 0 ? -1 : (order > 0 ? 1 : 0);
    }
    return std::nullopt;
}

bool string_test(json::value const& field, json::value const& value, bool (*test)(std::string_view, std::string_view))
{
    if (!field.is_string() || !value.is_string())
        return false;
    return test(field.as_string(), value.as_string());
}

bool evaluate_rule(json::object const& rule, json::object const& entity)
{
    auto const op = std::string_view(rule.at("operator").as_string());
    auto const field = field_of(rule, entity);
    json::value const value = rule.contains("value") ? rule.at("value") : json::value(nullptr);

    if (op == "=")
        return field.is_array() && !value.is_array() ? contains_element(field.as_array(), value) : field == value;
    if (op == "!=")
        return !(field == value);
    if (op == "in" || op == "notIn") {
        bool found = false;
        if (field.is_array()) {
            for (auto const& element : field.as_array())
                found = found || contains_element(value.as_array(), element);
        } else {
            found = contains_element(value.as_array(), field);
        }
        return op == "in" ? found : !found;
    }
    if (op == "contains" || op == "doesNotContains") {
        bool found = false;
        if (field.is_array())
            found = contains_element(field.as_array(), value);
        else
            found = string_test(field, value, [](std::string_view f, std::string_view v) { return f.find(v) != f.npos; });
        return op == "contains" ? found : !found;
    }
    if (op == "containsAny") {
        for (auto const& candidate : value.as_array()) {
            if (field.is_array() && contains_element(field.as_array(), candidate))
                return true;
            if (string_test(field, candidate, [](std::string_view f, std::string_view v) { return f.find(v) != f.npos; }))
                return true;
        }
        return false;
    }
    if (op == "beginsWith")
        return string_test(field, value, [](std::string_view f, std::string_view v) { return f.starts_with(v); });
    if (op == "doesNotBeginsWith")
        return !string_test(field, value, [](std::string_view f, std::string_view v) { return f.starts_with(v); });
    if (op == "endsWith")
        return string_test(field, value, [](std::string_view f, std::string_view v) { return f.ends_with(v); });
    if (op == "doesNotEndsWith")
        return !string_test(field, value, [](std::string_view f, std::string_view v) { return f.ends_with(v); });
    if (op == "isEmpty")
        return is_empty_value(field);
    if (op == "isNotEmpty")
        return !is_empty_value(field);

    auto const order = compare(field, value);
    if (!order)
        return false;
    if (op == ">")
        return *order > 0;
    if (op == ">=")
        return *order >= 0;
    if (op == "<")
        return *order < 0;
    return *order <= 0;
}

} // namespace

void validate_query(json::value const& query)
{
    if (!query.is_object())
        throw query_error("a query or rule must be a JSON object, got " + describe(query));
    auto const& group = query.as_object();

    if (group.contains("rules")) {
        auto const* combinator = group.if_contains("combinator");
        if (combinator == nullptr || !combinator->is_string() ||
            (combinator->as_string() != "and" && combinator->as_string() != "or"))
            throw query_error("combinator must be \"and\" or \"or\" in " + describe(query));
        if (!group.at("rules").is_array())
            throw query_error("rules must be an array in " + describe(query));
        for (auto const& rule : group.at("rules").as_array())
            validate_query(rule);
        return;
    }

    auto const* op = group.if_contains("operator");
    if (op == nullptr || !op->is_string())
        throw query_error("rule has no string \"operator\": " + describe(query));
    auto const name = std::string_view(op->as_string());
    if (std::find(known_operators.begin(), known_operators.end(), name) == known_operators.end())
        throw query_error("unsupported operator \"" + std::string(name) + "\" in rule " + describe(query));

    auto const* property = group.if_contains("property");
    auto const* relation = group.if_contains("relation");
    if ((property == nullptr || !property->is_string()) && (relation == nullptr || !relation->is_string()))
        throw query_error("rule has no string \"property\" or \"relation\": " + describe(query));

    if (!needs_no_value(name) && !group.contains("value"))
        throw query_error("rule has no \"value\": " + describe(query));
    if ((name == "in" || name == "notIn" || name == "containsAny") && !group.at("value").is_array())
        throw query_error("operator \"" + std::string(name) + "\" needs an array value: " + describe(query));
}

bool matches_query(json::object const& query, json::object const& entity)
{
    auto const* rules = query.if_contains("rules");
    if (rules == nullptr)
        return evaluate_rule(query, entity);

    bool const all = query.at("combinator").as_string() == "and";
    for (auto const& rule : rules->as_array()) {
        bool const hit = matches_query(rule.as_object(), entity);
        if (all && !hit)
            return false;
        if (!all && hit)
            return true;
    }
    // An empty "and" matches everything, an empty "or" nothing.
    return all;
}

json::object project_entity(json::object const& entity, std::vector<std::string> const& include)
{
    if (include.empty())
        return entity;

    json::object out;
    for (auto const& path : include) {
        auto const dot = path.find('.');
        auto const top = std::string_view(path).substr(0, dot);
        auto const* value = entity.if_contains(top);
        if (value == nullptr)
            continue;
        if (dot == std::string::npos || !value->is_object()) {
            out[top] = *value;
            continue;
        }
        auto const key = std::string_view(path).substr(dot + 1);
        auto& target = out[top];
        if (!target.is_object())
            target = json::object();
        if (auto const* nested = value->as_object().if_contains(key))
            target.as_object()[key] = *nested;
    }
    return out;
}

} // namespace ocean::emulator
