#include <ocean/http/fields.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace ocean::http {
namespace {

char lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept
{
    // Names usually arrive in the spelling they are compared with, so equal bytes skip lower().
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return x == y || lower(x) == lower(y); });
}

bool is_token(std::string_view name) noexcept
{
    constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               extra.find(c) != std::string_view::npos;
    });
}

bool is_safe_field_value(std::string_view value) noexcept
{
    return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::optional<std::string_view> fields::get(std::string_view name) const noexcept
{
    for (auto const& e : entries_) {
        auto const [key, value] = at(e);
        if (iequals(key, name))
            return value;
    }
    return std::nullopt;
}

std::size_t fields::count(std::string_view name) const noexcept
{
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(), [&](entry const& e) { return iequals(at(e).first, name); }));
}

void fields::set(std::string_view name, std::string_view value)
{
    erase(name);
    add(name, value);
}

void fields::add(std::string_view name, std::string_view value)
{
    if (chars_.size() + name.size() + value.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("http::fields: header fields exceed 4 GiB");
    auto const name_pos = static_cast<std::uint32_t>(chars_.size());
    chars_.append(name);
    auto const value_pos = static_cast<std::uint32_t>(chars_.size());
    chars_.append(value);
    entries_.push_back({name_pos, static_cast<std::uint32_t>(name.size()), value_pos,
                        static_cast<std::uint32_t>(value.size())});
}

void fields::erase(std::string_view name)
{
    // The characters of erased fields stay in chars_ until the object ends. Headers are small
    // and erasing is rare, so compacting would cost more than it saves.
    std::erase_if(entries_, [&](entry const& e) { return iequals(at(e).first, name); });
}

void fields::reserve(std::size_t count, std::size_t bytes)
{
    entries_.reserve(count);
    chars_.reserve(bytes);
}

} // namespace ocean::http
