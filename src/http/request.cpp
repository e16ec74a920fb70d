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

// Returns the media type without parameters and surrounding blanks, e.g. "Application/JSON" of
// "Application/JSON; charset=utf-8". Compare it with iequals: media types are case-insensitive.
std::string_view media_type(std::string_view content_type) noexcept
{
    return trim(content_type.substr(0, content_type.find(';')));
}

bool iends_with(std::string_view s, std::string_view suffix) noexcept
{
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// Paths without escapes, the common case, are copied as they are.
std::string decoded_path(std::string_view target)
{
    auto const path = target.substr(0, target.find('?'));
    if (path.find('%') == std::string_view::npos)
        return std::string(path);
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

bool is_json_media_type(std::string_view content_type) noexcept
{
    auto const type = media_type(content_type);
    return iequals(type, "application/json") || iends_with(type, "+json");
}

bool request::has_json_content_type() const noexcept
{
    auto const value = headers_.get("Content-Type");
    return value && is_json_media_type(*value);
}

boost::json::value const& request::json() const
{
    if (json_)
        return *json_;

    if (auto const type = headers_.get("Content-Type"); type && !is_json_media_type(*type))
        throw error_response(415, "unsupported_media_type",
                             "expected a JSON body (application/json), got Content-Type '" + std::string(*type) + "'");

    boost::json::parse_options options;
    options.max_depth = json_limits_.max_depth;
    // One arena per request: the parsed tree is freed at once with the request, and parsing does
    // a few large allocations instead of one per node. By our estimate a webhook payload's
    // tree takes three to four times the body's size, so the first block is sized for that.
    arena_ = std::make_unique<boost::json::monotonic_resource>(body_.size() * 4 + 1024);

    // A parser per thread keeps its internal stack between requests instead of allocating it for
    // each body; one with other limits is built when a server uses a different depth.
    thread_local std::optional<boost::json::parser> cached;
    thread_local std::size_t cached_depth = 0;
    if (!cached || cached_depth != options.max_depth) {
        cached.emplace(boost::json::storage_ptr(), options);
        cached_depth = options.max_depth;
    }
    auto& parser = *cached;
    parser.reset(boost::json::storage_ptr(arena_.get()));
    boost::system::error_code ec;
    auto const consumed = parser.write_some(body_.data(), body_.size(), ec);
    if (!ec && body_.find_first_not_of(" \t\r\n", consumed) != std::string::npos)
        ec = boost::json::error::extra_data;
    if (ec) {
        // The cached parser must not keep pointers into this request's arena.
        parser.reset();
        std::string message = "invalid JSON body: " + ec.message() + " at byte " + std::to_string(consumed);
        if (body_.empty())
            message = "invalid JSON body: the body is empty";
        throw error_response(400, "invalid_json", message);
    }
    json_ = parser.release();
    parser.reset();
    return *json_;
}

std::multimap<std::string, std::string> const& request::form() const
{
    if (form_)
        return *form_;

    auto const type = headers_.get("Content-Type");
    if (!type || !iequals(media_type(*type), "application/x-www-form-urlencoded"))
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
