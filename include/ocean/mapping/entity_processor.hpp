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
    /// Index of the raw item in the batch given to map().
    std::size_t item = 0;
};

/// The result of mapping a batch.
struct mapping_result {
    /// Entities whose items passed the selector, in input order.
    std::vector<port::entity> passed;
    /// Entities of items that failed the selector (mapped too, so callers can delete them).
    std::vector<port::entity> failed;
    std::vector<misconfiguration> misconfigured;
    /// Items that passed the selector but were skipped because identifier or blueprint mapped to
    /// null, false or an empty string (Port Ocean's test for a usable value).
    std::size_t skipped = 0;
    /// Hard errors (selector not boolean or failing, ...), each naming the kind and the item.
    std::vector<std::string> errors;
    /// Items not mapped for a reason worth a warning (itemsToParse not an array, identifier or
    /// blueprint null), identifiers that are the string "null", and integers beyond 2^53 that jq
    /// may have rounded. Each names the kind and the item.
    std::vector<std::string> warnings;

    /// True when nothing went wrong: no misconfigured field, skipped entity, error or warning.
    bool clean() const noexcept
    {
        return misconfigured.empty() && skipped == 0 && errors.empty() && warnings.empty();
    }

    /// Appends `other`, keeping the order of both.
    void append(mapping_result&& other);
};

struct processor_options {
    /// When false, jq programs cannot read environment variables ($ENV, env).
    bool allow_environment_access = true;
    /// When true, constants, object paths and simple expressions (`==`, `!=`, `and`, `or`, `//`,
    /// `| not`) are evaluated on the Boost.JSON tree with jq 1.6's results, which is faster and
    /// keeps integers beyond 2^53 exact. When false, every program runs in jq.
    bool native_evaluation = true;
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

    /// Maps `items` through every resource of `kind`, resource by resource in document order and
    /// items in input order. An unknown kind yields an empty result.
    ///
    /// Per item: itemsToParse (if set) fans the item out, the selector must yield a boolean, and
    /// every mapping field takes the first output of its program. Items that fail the selector are
    /// mapped into `failed` without reporting their misconfigured fields.
    mapping_result map(std::string_view kind, std::span<boost::json::value const> items) const;

    /// Same as map(kind, items), with item indices in messages counted from `first_index`
    /// (for callers that split one batch into several calls).
    mapping_result map(std::string_view kind, std::span<boost::json::value const> items,
                       std::size_t first_index) const;

    /// Maps `items` through the single resource `config().resources[resource_index]`, with item
    /// indices in messages counted from `first_index`. Throws std::out_of_range on a bad index.
    mapping_result map_resource(std::size_t resource_index, std::span<boost::json::value const> items,
                                std::size_t first_index = 0) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ocean::mapping
