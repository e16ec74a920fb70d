// Typed request bodies: a struct described with BOOST_DESCRIBE_STRUCT read from the JSON body,
// with a 422 that names the field path when the body does not fit.
#pragma once

#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <boost/mp11/algorithm.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace ocean::http {

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

[[noreturn]] inline void invalid_field(std::string const& path, std::string const& expected, boost::json::value const& got)
{
    char const* kind = got.is_null() ? "null" : got.is_string() ? "a string" : got.is_bool() ? "a boolean"
                     : got.is_number() ? "a number" : got.is_array() ? "an array" : "an object";
    throw error_response(422, "invalid_body", "field '" + path + "': expected " + expected + ", got " + kind);
}

template <class T>
void read_field(boost::json::value const& v, std::string const& path, T& out);

template <class T>
void read_described(boost::json::value const& v, std::string const& path, T& out)
{
    auto const* object = v.if_object();
    if (object == nullptr)
        invalid_field(path.empty() ? "$" : path, "an object", v);
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>([&](auto member) {
        using member_type = std::remove_cvref_t<decltype(out.*member.pointer)>;
        auto const field_path = path.empty() ? std::string(member.name) : path + "." + member.name;
        auto const* field = object->if_contains(member.name);
        if (field == nullptr) {
            if constexpr (is_optional<member_type>::value)
                return;
            else
                throw error_response(422, "invalid_body", "field '" + field_path + "' is missing");
        }
        read_field(*field, field_path, out.*member.pointer);
    });
}

template <class T>
void read_field(boost::json::value const& v, std::string const& path, T& out)
{
    if constexpr (is_optional<T>::value) {
        if (v.is_null()) {
            out.reset();
            return;
        }
        typename T::value_type inner{};
        read_field(v, path, inner);
        out = std::move(inner);
    } else if constexpr (boost::describe::has_describe_members<T>::value) {
        read_described(v, path, out);
    } else if constexpr (is_vector<T>::value) {
        auto const* array = v.if_array();
        if (array == nullptr)
            invalid_field(path, "an array", v);
        out.clear();
        out.reserve(array->size());
        for (std::size_t i = 0; i < array->size(); ++i) {
            typename T::value_type item{};
            read_field((*array)[i], path + "[" + std::to_string(i) + "]", item);
            out.push_back(std::move(item));
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string())
            invalid_field(path, "a string", v);
        out = std::string(v.get_string());
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_bool())
            invalid_field(path, "a boolean", v);
        out = v.get_bool();
    } else if constexpr (std::is_arithmetic_v<T>) {
        if (!v.is_number())
            invalid_field(path, "a number", v);
        boost::system::error_code ec;
        out = v.to_number<T>(ec);
        if (ec)
            throw error_response(422, "invalid_body", "field '" + path + "': the number does not fit the field's type");
    } else if constexpr (std::is_same_v<T, boost::json::value>) {
        out = v;
    } else {
        try {
            out = boost::json::value_to<T>(v);
        } catch (std::exception const& e) {
            throw error_response(422, "invalid_body", "field '" + path + "': " + e.what());
        }
    }
}

} // namespace detail

/// Reads the JSON body into `T`, a struct described with BOOST_DESCRIBE_STRUCT (nested described
/// structs, std::vector, std::optional, strings, numbers, booleans and json::value members).
/// Throws error_response: 400 for invalid JSON, 415 for a non-JSON media type, and 422 naming the
/// field path (`issue.labels[2].name`) when a field is missing or has the wrong type. Members that
/// are std::optional may be absent or null; unknown fields are ignored.
template <class T>
T body_as(request const& r)
{
    T out{};
    detail::read_field(r.json(), "", out);
    return out;
}

} // namespace ocean::http
