// A Port catalog entity as plain data.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace ocean::port {

/// An entity as Port's API takes it. `identifier` (and `team`, relation values) are usually strings
/// but may be search queries `{combinator, rules}`; null members are left out of the JSON.
struct entity {
    boost::json::value identifier;
    std::string blueprint;
    boost::json::value title;
    boost::json::value icon;
    boost::json::value team;
    boost::json::object properties;
    boost::json::object relations;

    /// True when identifier is a plain string.
    bool has_string_identifier() const noexcept { return identifier.is_string(); }

    /// Returns the identifier as a string: the string itself, or the JSON text of a search query.
    std::string identifier_text() const;

    /// Serialises to Port's entity JSON (`identifier`, `blueprint`, `title`, ...).
    boost::json::object to_json() const;

    /// Reads Port's entity JSON; throws ocean::config_error naming the missing or wrong field.
    static entity from_json(boost::json::value const& v);
};

} // namespace ocean::port
