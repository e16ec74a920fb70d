// The server-side view of one HTTP request, handed to route handlers.
#pragma once

#include <ocean/http/fields.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ocean::http {

/// Limits applied when a request body is parsed as JSON.
struct json_limits {
    /// Maximum nesting depth of arrays and objects.
    std::size_t max_depth = 256;
};

/// True when `content_type` names JSON: `application/json` or a `+json` suffix, in any case,
/// parameters allowed (`application/vnd.x+json; charset=utf-8`).
bool is_json_media_type(std::string_view content_type) noexcept;

/// One request as received by the server. Handlers get it by const reference; it lives until the
/// handler's coroutine completes.
class request {
public:
    request() = default;
    request(std::string method, std::string target, fields headers, std::string body);

    std::string_view method() const noexcept { return method_; }

    /// The request target as sent, e.g. `/integration/webhook?x=1`.
    std::string_view target() const noexcept { return target_; }

    /// The percent-decoded path, without the query.
    std::string_view path() const noexcept { return path_; }

    fields const& headers() const noexcept { return headers_; }
    std::optional<std::string_view> header(std::string_view name) const noexcept
    {
        return headers_.get(name);
    }

    /// The body bytes exactly as received; signatures are computed over these.
    std::string const& body() const noexcept { return body_; }

    /// Returns the body parsed as JSON, parsing it on the first call only. Throws http::error_response
    /// with status 400 (invalid JSON, naming the parser's message and offset) or 415 (a media type
    /// that is not JSON).
    boost::json::value const& json() const;

    /// Returns the body parsed as `application/x-www-form-urlencoded` fields. Throws
    /// http::error_response with status 400 when the encoding is invalid, 415 for other media types.
    std::multimap<std::string, std::string> const& form() const;

    /// Returns the value of a `{name}` segment of the matched route, or an empty view.
    std::string_view param(std::string_view name) const noexcept;

    /// Returns the first query parameter named `name`, percent-decoded, or nullopt.
    std::optional<std::string> query(std::string_view name) const;

    /// Returns the X-Request-ID of this request (taken from the request or generated).
    std::string_view request_id() const noexcept { return request_id_; }

    /// True when the media type is JSON: `application/json`, `+json` suffixes, parameters allowed.
    bool has_json_content_type() const noexcept;

    // Set by the server before the handler runs.
    void set_route_params(std::map<std::string, std::string, std::less<>> params) { params_ = std::move(params); }
    void set_request_id(std::string id) { request_id_ = std::move(id); }
    void set_json_limits(json_limits limits) noexcept { json_limits_ = limits; }

private:
    std::string method_;
    std::string target_;
    std::string path_;
    fields headers_;
    std::string body_;
    std::string request_id_;
    std::map<std::string, std::string, std::less<>> params_;
    json_limits json_limits_;
    // The parsed body lives in this arena, declared before json_ so that it ends after it. The
    // tree refers to the arena without owning it, which lets Boost.JSON skip the per-node
    // destructor walk: the arena frees everything at once.
    mutable std::unique_ptr<boost::json::monotonic_resource> arena_;
    mutable std::optional<boost::json::value> json_;
    mutable std::optional<std::multimap<std::string, std::string>> form_;
};

} // namespace ocean::http
