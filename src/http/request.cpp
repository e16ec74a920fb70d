#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>

#include <boost/json.hpp>
#include <boost/url.hpp>

namespace ocean::http {
namespace {

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Returns the media type without parameters, e.g. "application/json" of
// "Application/JSON; charset=utf-8", lower-cased.
std::string media_type(std::string_view content_type)
{
    auto const semicolon = content_type.find(';');
    auto type = trim(content_type.substr(0, semicolon));
    std::string out(type);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string decoded_path(std::string_view target)
{
    auto const path = target.substr(0, target.find('?'));
    auto const parsed = boost::urls::make_pct_string_view(path);
    if (!parsed)
        return std::string(path);
    return parsed->decode();
}

} // namespace

request::request(std::string method, std::string target, fields headers, std::string body)
    : method_(std::move(method)),
      target_(std::move(target)),
      path_(decoded_path(target_)),
      headers_(std::move(headers)),
      body_(std::move(body))
{
}

bool request::has_json_content_type() const noexcept
{
    auto const value = headers_.get("Content-Type");
    if (!value)
        return false;
    auto const type = media_type(*value);
    return type == "application/json" || type.ends_with("+json");
}

boost::json::value const& request::json() const
{
    if (json_)
        return *json_;

    if (auto const type = headers_.get("Content-Type"); type && !has_json_content_type())
        throw error_response(415, "unsupported_media_type",
                             "expected a JSON body (application/json), got Content-Type '" + std::string(*type) + "'");

    boost::json::parse_options options;
    options.max_depth = json_limits_.max_depth;
    boost::json::parser parser({}, options);
    boost::system::error_code ec;
    auto const consumed = parser.write_some(body_.data(), body_.size(), ec);
    if (!ec && body_.find_first_not_of(" \t\r\n", consumed) != std::string::npos)
        ec = boost::json::error::extra_data;
    if (ec) {
        std::string message = "invalid JSON body: " + ec.message() + " at byte " + std::to_string(consumed);
        if (body_.empty())
            message = "invalid JSON body: the body is empty";
        throw error_response(400, "invalid_json", message);
    }
    json_ = parser.release();
    return *json_;
}

std::multimap<std::string, std::string> const& request::form() const
{
    if (form_)
        return *form_;

    auto const type = headers_.get("Content-Type");
    if (!type || media_type(*type) != "application/x-www-form-urlencoded")
        throw error_response(415, "unsupported_media_type",
                             "expected a form body (application/x-www-form-urlencoded), got Content-Type '" +
                                 std::string(type.value_or("")) + "'");

    auto const params = boost::urls::parse_query(body_);
    if (!params)
        throw error_response(400, "invalid_form", "invalid form body: " + params.error().message());

    std::multimap<std::string, std::string> out;
    for (auto const& param : *params) {
        // In form encoding '+' means a space; Boost.URL decodes only %XX by default.
        boost::urls::encoding_opts opts;
        opts.space_as_plus = true;
        out.emplace(param.key.decode(opts), param.has_value ? param.value.decode(opts) : std::string());
    }
    form_ = std::move(out);
    return *form_;
}

std::string_view request::param(std::string_view name) const noexcept
{
    auto const it = params_.find(name);
    return it == params_.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string> request::query(std::string_view name) const
{
    auto const question = target_.find('?');
    if (question == std::string::npos)
        return std::nullopt;
    auto const params = boost::urls::parse_query(std::string_view(target_).substr(question + 1));
    if (!params)
        return std::nullopt;
    for (auto const& param : *params) {
        if (param.key.decode() == name)
            return param.has_value ? param.value.decode() : std::string();
    }
    return std::nullopt;
}

} // namespace ocean::http
