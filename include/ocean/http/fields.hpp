// HTTP header fields as plain data, so public headers need no Beast types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocean::http {

/// Compares two header names without regard to ASCII case, as HTTP requires.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// An ordered list of header fields with case-insensitive lookup. Repeated names are kept.
class fields {
public:
    using value_type = std::pair<std::string, std::string>;

    /// Returns the value of the first field named `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const noexcept;

    /// Returns the number of fields named `name`.
    std::size_t count(std::string_view name) const noexcept;

    /// Replaces every field named `name` with one field.
    void set(std::string_view name, std::string_view value);

    /// Appends a field, keeping any earlier one of the same name.
    void add(std::string_view name, std::string_view value);

    /// Removes every field named `name`.
    void erase(std::string_view name);

    auto begin() const noexcept { return items_.begin(); }
    auto end() const noexcept { return items_.end(); }
    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }

private:
    std::vector<value_type> items_;
};

} // namespace ocean::http
