#include <ocean/http/fields.hpp>

#include <algorithm>

namespace ocean::http {
namespace {

char lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string_view> fields::get(std::string_view name) const noexcept
{
    for (auto const& [key, value] : items_)
        if (iequals(key, name))
            return std::string_view(value);
    return std::nullopt;
}

std::size_t fields::count(std::string_view name) const noexcept
{
    return static_cast<std::size_t>(
        std::count_if(items_.begin(), items_.end(), [&](auto const& item) { return iequals(item.first, name); }));
}

void fields::set(std::string_view name, std::string_view value)
{
    erase(name);
    add(name, value);
}

void fields::add(std::string_view name, std::string_view value)
{
    items_.emplace_back(std::string(name), std::string(value));
}

void fields::erase(std::string_view name)
{
    std::erase_if(items_, [&](auto const& item) { return iequals(item.first, name); });
}

} // namespace ocean::http
