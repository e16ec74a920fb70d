// Evaluates a small subset of jq directly on Boost.JSON trees, with jq 1.6's results and errors.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::mapping::detail {

/// Source of the paths that a native expression reads.
class path_source {
public:
    enum class status { value, error, needs_jq };

    /// Resolves `.k1.k2...` with jq's rules. On `value`, `out` points to the member, or is null for
    /// a missing one. On `error`, `error` gets jq's message. `needs_jq` means only jq can compose
    /// the input.
    virtual status resolve(std::vector<std::string> const& keys, boost::json::value const*& out,
                           std::string& error) = 0;

protected:
    ~path_source() = default;
};

/// The outcome of a native evaluation.
struct native_result {
    path_source::status state = path_source::status::value;
    boost::json::value value;
    std::string error;
};

/// A parsed program of the subset: object paths (`.a.b`, `."k"`), JSON literals, `==`, `!=`,
/// `and`, `or`, `//`, a trailing `| not`, and parentheses. Every such program yields exactly one
/// output or an error, like jq 1.6, including which side's error wins.
class native_expression {
public:
    /// Parses `program` (single quotes already rewritten). Returns nothing when the program uses
    /// anything outside the subset; jq then runs it. Every program this accepts is also valid jq
    /// 1.6, so accepted programs need no jq compilation to be checked.
    static std::optional<native_expression> parse(std::string_view program);

    native_expression(native_expression&&) noexcept;
    native_expression& operator=(native_expression&&) noexcept;
    ~native_expression();

    native_result evaluate(path_source& input) const;

    struct node;

private:
    explicit native_expression(std::unique_ptr<node> root);
    std::unique_ptr<node> root_;
};

/// Compares two JSON values as jq does: numbers by their double value, objects regardless of key
/// order.
bool jq_equal(boost::json::value const& left, boost::json::value const& right);

} // namespace ocean::mapping::detail
