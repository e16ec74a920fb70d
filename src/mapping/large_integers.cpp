#include "mapping/large_integers.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <string_view>

namespace ocean::mapping::detail {

namespace json = boost::json;

namespace {

/// From this magnitude on, one double stands for several integers, so jq may have rounded it.
constexpr double max_exact_double = 9007199254740992.0; // 2^53

bool looks_like_number_text(json::string const& text)
{
    if (text.size() < 16 || text.size() > 32)
        return false;
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E' || c == '.'))
            return false;
    }
    return true;
}

/// Finds the one exact input integer whose double is `approximation`. Returns null when none or
/// several distinct integers match.
json::value const* find_exact(std::vector<large_integer> const& large, double approximation)
{
    json::value const* found = nullptr;
    for (auto const& candidate : large) {
        if (candidate.approximation != approximation)
            continue;
        if (found != nullptr && *found != candidate.exact)
            return nullptr;
        found = &candidate.exact;
    }
    return found;
}

} // namespace

bool restore_large_integers(json::value& value, std::vector<large_integer> const& large)
{
    switch (value.kind()) {
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: {
        double const number = value.to_number<double>();
        if (number > -max_exact_double && number < max_exact_double)
            return true;
        if (auto const* exact = find_exact(large, number)) {
            value = *exact;
            return true;
        }
        return false;
    }
    case json::kind::string: {
        auto& text = value.get_string();
        if (!looks_like_number_text(text))
            return true;
        for (auto const& candidate : large) {
            jv_ref number(jv_number(candidate.approximation));
            if (dump_text(number.get()) != std::string_view(text))
                continue;
            if (auto const* exact = find_exact(large, candidate.approximation)) {
                value = json::string(json::serialize(*exact));
                return true;
            }
            return false;
        }
        return true;
    }
    case json::kind::array: {
        bool exact = true;
        for (auto& element : value.get_array())
            exact = restore_large_integers(element, large) && exact;
        return exact;
    }
    case json::kind::object: {
        bool exact = true;
        for (auto& member : value.get_object())
            exact = restore_large_integers(member.value(), large) && exact;
        return exact;
    }
    default:
        return true;
    }
}

} // namespace ocean::mapping::detail
