// Route table: method + path pattern -> coroutine handler. Matching is sans-I/O and unit-tested.
#pragma once

#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::http {

/// A route handler: a coroutine that receives the request and returns the response.
using handler = std::function<boost::asio::awaitable<response>(request const&)>;

/// A filter runs before a route's handler. It returns a response to send at once (for example
/// 401 after a failed signature check) or nullopt to let the request through.
using filter = std::function<boost::asio::awaitable<std::optional<response>>(request const&)>;

/// The form in which a route receives its body.
enum class body_mode {
    /// The body is parsed as JSON before the handler runs when its media type is JSON or absent
    /// and it is not empty; invalid JSON gets 400 without calling the handler.
    json,
    /// The body is handed over as bytes; request::json() and form() still parse on demand.
    raw,
};

/// Per-route options.
struct route_options {
    body_mode body = body_mode::json;
};

/// The outcome of matching a method and path against the table.
struct match_result {
    enum class kind { found, not_found, method_not_allowed, bad_path };
    kind outcome = kind::not_found;
    /// The matched route's handler and filters (outcome == found).
    handler const* target = nullptr;
    std::vector<filter> const* filters = nullptr;
    route_options options;
    /// The matched pattern, e.g. `/integration/webhook/{source}`, for logs and metrics. It points
    /// into the router, which must outlive the result.
    std::string_view pattern;
    std::map<std::string, std::string, std::less<>> params;
    /// Methods that the path accepts (outcome == method_not_allowed), for the Allow header.
    std::string allow;
    /// The reason the path was rejected (outcome == bad_path).
    std::string reason;
};

class router;

/// Routes that share a path prefix and a list of filters, e.g. `/integration` or one provider.
class route_group {
public:
    route_group(router& owner, std::string prefix, std::vector<filter> filters = {});

    route_group& route(std::string_view method, std::string_view path, handler h, route_options options = {});
    route_group& get(std::string_view path, handler h, route_options options = {});
    route_group& post(std::string_view path, handler h, route_options options = {});
    route_group& put(std::string_view path, handler h, route_options options = {});
    route_group& patch(std::string_view path, handler h, route_options options = {});
    route_group& del(std::string_view path, handler h, route_options options = {});

    /// Returns a nested group whose prefix is this prefix + `prefix` and whose filters are these
    /// filters followed by `filters`.
    route_group group(std::string_view prefix, std::vector<filter> filters = {}) const;

    std::string const& prefix() const noexcept { return prefix_; }

private:
    router* owner_;
    std::string prefix_;
    std::vector<filter> filters_;
};

/// The route table of one server. Register routes before the server runs; matching is read-only
/// and safe from several threads.
class router {
public:
    router();
    ~router();
    router(router const&) = delete;
    router& operator=(router const&) = delete;

    /// Adds a route. `path` is absolute, with `{name}` segments for parameters and an optional
    /// final `*` segment that matches the rest. Throws std::invalid_argument on a duplicate or a
    /// malformed pattern.
    void add(std::string_view method, std::string_view path, handler h, std::vector<filter> filters = {},
             route_options options = {});

    /// Returns a group rooted at `prefix`.
    route_group group(std::string_view prefix, std::vector<filter> filters = {});

    /// Matches a request path (raw, as sent, without the query). Percent-decodes segments and
    /// rejects `..`, `.`, empty segments after decoding, encoded `/` or `\`, and NUL bytes.
    match_result match(std::string_view method, std::string_view raw_path) const;

private:
    struct node;
    std::unique_ptr<node> root_;
};

} // namespace ocean::http
