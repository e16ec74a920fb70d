#include <ocean/error.hpp>
#include <ocean/port/entity.hpp>

#include <boost/json/serialize.hpp>

namespace ocean::port {

std::string entity::identifier_text() const
{
    if (identifier.is_string())
        return std::string(identifier.get_string());
    return boost::json::serialize(identifier);
}

boost::json::object entity::to_json() const
{
    boost::json::object out;
    out["identifier"] = identifier;
    out["blueprint"] = blueprint;
    if (!title.is_null())
        out["title"] = title;
    if (!icon.is_null())
        out["icon"] = icon;
    if (!team.is_null())
        out["team"] = team;
    out["properties"] = properties;
    out["relations"] = relations;
    return out;
}

entity entity::from_json(boost::json::value const& v)
{
    auto const* object = v.if_object();
    if (object == nullptr)
        throw config_error("entity: expected a JSON object, got " + boost::json::serialize(v));

    entity e;
    if (auto const* id = object->if_contains("identifier"); id != nullptr && !id->is_null())
        e.identifier = *id;
    else
        throw config_error("entity: missing field 'identifier'");

    auto const* blueprint = object->if_contains("blueprint");
    if (blueprint == nullptr || !blueprint->is_string())
        throw config_error("entity '" + e.identifier_text() + "': missing or non-string field 'blueprint'");
    e.blueprint = std::string(blueprint->get_string());

    if (auto const* title = object->if_contains("title"))
        e.title = *title;
    if (auto const* icon = object->if_contains("icon"))
        e.icon = *icon;
    if (auto const* team = object->if_contains("team"))
        e.team = *team;
    if (auto const* properties = object->if_contains("properties")) {
        if (!properties->is_object())
            throw config_error("entity '" + e.identifier_text() + "': field 'properties' must be an object");
        e.properties = properties->get_object();
    }
    if (auto const* relations = object->if_contains("relations")) {
        if (!relations->is_object())
            throw config_error("entity '" + e.identifier_text() + "': field 'relations' must be an object");
        e.relations = relations->get_object();
    }
    return e;
}

} // namespace ocean::port
