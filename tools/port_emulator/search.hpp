// Port's entity search queries: `{combinator, rules}` evaluated against an entity's JSON.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace ocean::emulator {

/// A query that Port would reject; the message names the rule and what is wrong with it.
class query_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Checks the shape of a query: a group is `{combinator: "and"|"or", rules: [...]}`, a rule is
/// `{property|relation, operator, value}`. Throws query_error.
void validate_query(boost::json::value const& query);

/// Returns whether `entity` (as entity_record::to_json() writes it) satisfies a validated query.
/// Properties starting with `$` address the entity's own fields (`$identifier`, `$blueprint`,
/// `$title`, `$team`, `$icon`, `$datasource`, `$createdAt`, `$updatedAt`); any other name is a
/// key of `properties`.
bool matches_query(boost::json::object const& query, boost::json::object const& entity);

/// Returns `entity` with only the fields named in `include` (`identifier`, `properties.url`,
/// `relations`, ...). An empty list keeps everything.
boost::json::object project_entity(boost::json::object const& entity, std::vector<std::string> const& include);

} // namespace ocean::emulator
