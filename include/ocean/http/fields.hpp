// HTTP header fields as plain data, so public headers need no Beast types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocean::http {

/// Compares two header names without regard to ASCII case, as HTTP requires.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// True when `name` is a valid field name or method: an RFC 9110 token.
bool is_token(std::string_view name) noexcept;

/// True when `value` contains no CR, LF or NUL, any of which would let it inject header lines.
bool is_safe_field_value(std::string_view value) noexcept;

/// An ordered list of header fields with case-insensitive lookup. Repeated names are kept.
///
/// Names and values share one character buffer, so a request's headers cost two allocations
/// however many there are. Views returned by get() and by iteration stay valid until the next
/// call to a modifier (set, add, erase) or the end of the object.
class fields {
public:
    /// A field as a pair of views into the object's storage: (name, value).
    using value_type = std::pair<std::string_view, std::string_view>;

    class const_iterator;
    using iterator = const_iterator;

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

    /// Reserves room for `count` fields whose names and values total `bytes` characters.
    void reserve(std::size_t count, std::size_t bytes);

    const_iterator begin() const noexcept;
    const_iterator end() const noexcept;
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }

private:
    // Offsets into chars_; 32 bits each, since header blocks are limited to far less than 4 GiB.
    struct entry {
        std::uint32_t name_pos;
        std::uint32_t name_size;
        std::uint32_t value_pos;
        std::uint32_t value_size;
    };

    value_type at(entry const& e) const noexcept
    {
        return {std::string_view(chars_.data() + e.name_pos, e.name_size),
                std::string_view(chars_.data() + e.value_pos, e.value_size)};
    }

    std::string chars_;
    std::vector<entry> entries_;
};

/// Iterates the fields in order, yielding value_type by value.
class fields::const_iterator {
public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = fields::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    const_iterator() = default;

    value_type operator*() const noexcept { return owner_->at(owner_->entries_[index_]); }
    value_type operator[](difference_type n) const noexcept { return *(*this + n); }

    const_iterator& operator++() noexcept { ++index_; return *this; }
    const_iterator operator++(int) noexcept { auto old = *this; ++index_; return old; }
    const_iterator& operator--() noexcept { --index_; return *this; }
    const_iterator operator--(int) noexcept { auto old = *this; --index_; return old; }
    const_iterator& operator+=(difference_type n) noexcept { index_ += n; return *this; }
    const_iterator& operator-=(difference_type n) noexcept { index_ -= n; return *this; }
    friend const_iterator operator+(const_iterator it, difference_type n) noexcept { return it += n; }
    friend const_iterator operator+(difference_type n, const_iterator it) noexcept { return it += n; }
    friend const_iterator operator-(const_iterator it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(const_iterator a, const_iterator b) noexcept { return a.index_ - b.index_; }
    friend bool operator==(const_iterator a, const_iterator b) noexcept { return a.index_ == b.index_; }
    friend auto operator<=>(const_iterator a, const_iterator b) noexcept { return a.index_ <=> b.index_; }

private:
    friend class fields;
    const_iterator(fields const* owner, difference_type index) noexcept : owner_(owner), index_(index) {}

    fields const* owner_ = nullptr;
    difference_type index_ = 0;
};

inline fields::const_iterator fields::begin() const noexcept
{
    return {this, 0};
}

inline fields::const_iterator fields::end() const noexcept
{
    return {this, static_cast<std::ptrdiff_t>(entries_.size())};
}

} // namespace ocean::http
