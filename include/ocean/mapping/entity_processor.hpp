// Maps raw items to entities with jq, following Port Ocean's semantics.
#pragma once

#include <ocean/mapping/port_app_config.hpp>
#include <ocean/port/entity.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ocean::mapping {

/// A mapping field that failed or yielded null, by dotted path (`properties.url`).
struct misconfiguration {
    std::string kind;
    std::string path;
    std::string message;
};

/// What mapping a batch produced.
struct mapping_result {
    /// Entities whose items passed the selector, in input order.
    std::vector<port::entity> passed;
    /// Entities of items that failed the selector (mapped too, so callers can delete them).
    std::vector<port::entity> failed;
    std::vector<misconfiguration> misconfigured;
    /// Items skipped because identifier or blueprint mapped to null.
    std::size_t skipped = 0;
    /// Hard errors (selector not boolean, itemsToParse not an array, ...), each naming the kind.
    std::vector<std::string> errors;
};

struct processor_options {
    /// When false, jq programs cannot read environment variables ($ENV, env).
    bool allow_environment_access = true;
};

/// Compiles every jq program of a port-app-config once; map() then runs them per item.
/// Construction throws ocean::config_error with the field path and jq's message on a compile error.
/// One instance must not be used from two threads at once (libjq state is not thread-safe).
class entity_processor {
public:
    explicit entity_processor(port_app_config config, processor_options options = {});
    ~entity_processor();
    entity_processor(entity_processor&&) noexcept;
    entity_processor& operator=(entity_processor&&) noexcept;

    port_app_config const& config() const noexcept;

    /// Maps `items` through every resource of `kind`. An unknown kind yields an empty result.
    mapping_result map(std::string_view kind, std::span<boost::json::value const> items) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ocean::mapping
