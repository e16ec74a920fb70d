#include <ocean/http/router.hpp>

#include <boost/container/small_vector.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <stdexcept>

namespace ocean::http {

struct router::node {
    struct route {
        handler target;
        std::vector<filter> filters;
        route_options options;
    };

    std::map<std::string, std::unique_ptr<node>, std::less<>> children;
    // A `{name}` child matches any one segment; its name is kept for the request's params.
    std::unique_ptr<node> param_child;
    std::string param_name;
    // A final `*` matches the rest of the path, which is stored as the param "*".
    std::unique_ptr<node> rest_child;
    std::map<std::string, route, std::less<>> routes;
    std::string pattern;
};

namespace {

std::vector<std::string_view> split_pattern(std::string_view path)
{
    if (path.empty() || path.front() != '/')
        throw std::invalid_argument("route path must start with '/': '" + std::string(path) + "'");
    std::vector<std::string_view> segments;
    path.remove_prefix(1);
    while (!path.empty()) {
        auto const slash = path.find('/');
        auto const segment = path.substr(0, slash);
        if (segment.empty())
            throw std::invalid_argument("route path has an empty segment: '" + std::string(path) + "'");
        segments.push_back(segment);
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return segments;
}

std::string upper(std::string_view method)
{
    std::string out(method);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

} // namespace

router::router() : root_(std::make_unique<node>()) {}
router::~router() = default;

void router::add(std::string_view method, std::string_view path, handler h, std::vector<filter> filters,
                 route_options options)
{
    auto const segments = split_pattern(path);
    node* current = root_.get();
    for (std::size_t i = 0; i < segments.size(); ++i) {
        auto const segment = segments[i];
        if (segment == "*") {
            if (i + 1 != segments.size())
                throw std::invalid_argument("'*' must be the last segment of route '" + std::string(path) + "'");
            if (!current->rest_child)
                current->rest_child = std::make_unique<node>();
            current = current->rest_child.get();
        } else if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
            auto const name = segment.substr(1, segment.size() - 2);
            if (!current->param_child) {
                current->param_child = std::make_unique<node>();
                current->param_name = std::string(name);
            } else if (current->param_name != name) {
                throw std::invalid_argument("route '" + std::string(path) + "' names parameter '{" + std::string(name) +
                                            "}' where another route has '{" + current->param_name + "}'");
            }
            current = current->param_child.get();
        } else {
            auto& child = current->children[std::string(segment)];
            if (!child)
                child = std::make_unique<node>();
            current = child.get();
        }
    }

    auto const verb = upper(method);
    if (current->routes.contains(verb))
        throw std::invalid_argument("duplicate route: " + verb + " " + std::string(path));
    current->routes.emplace(verb, node::route{std::move(h), std::move(filters), options});
    current->pattern = std::string(path);
}

route_group router::group(std::string_view prefix, std::vector<filter> filters)
{
    return route_group(*this, std::string(prefix), std::move(filters));
}

match_result router::match(std::string_view method, std::string_view raw_path) const
{
    match_result result;
    auto bad = [&](std::string reason) {
        result.outcome = match_result::kind::bad_path;
        result.reason = std::move(reason);
        return result;
    };

    if (raw_path.empty() || raw_path.front() != '/')
        return bad("request target must be an absolute path starting with '/'");

    // Decode each segment on its own, so an encoded '/' cannot create a new segment. Segments
    // without '%' are used in place; decoded ones live in `decoded`, reserved up front so that
    // the views into it stay valid.
    boost::container::small_vector<std::string_view, 8> segments;
    std::vector<std::string> decoded;
    if (raw_path.find('%') != std::string_view::npos)
        decoded.reserve(static_cast<std::size_t>(std::count(raw_path.begin(), raw_path.end(), '/')));
    std::string_view rest = raw_path.substr(1);
    while (true) {
        auto const slash = rest.find('/');
        auto const raw = rest.substr(0, slash);
        std::string_view segment = raw;
        if (raw.find('%') != std::string_view::npos) {
            auto const encoded = boost::urls::make_pct_string_view(raw);
            if (!encoded)
                return bad("invalid percent-encoding in path segment '" + std::string(raw) + "'");
            segment = decoded.emplace_back(encoded->decode());
        }
        if (std::any_of(segment.begin(), segment.end(), [](char c) { return c == '/' || c == '\\' || c == '\0'; }))
            return bad("path segment '" + std::string(raw) + "' contains an encoded '/', '\\' or NUL");
        if (segment == "." || segment == "..")
            return bad("path segment '" + std::string(raw) + "' escapes its prefix");
        if (segment.empty() && slash != std::string_view::npos)
            return bad("path '" + std::string(raw_path) + "' contains an empty segment");
        if (!segment.empty())
            segments.push_back(segment);
        if (slash == std::string_view::npos)
            break;
        rest.remove_prefix(slash + 1);
    }

    node const* current = root_.get();
    std::map<std::string, std::string, std::less<>> params;
    for (std::size_t i = 0; i < segments.size() && current != nullptr; ++i) {
        auto const segment = segments[i];
        if (auto const it = current->children.find(segment); it != current->children.end()) {
            current = it->second.get();
        } else if (current->param_child) {
            params[current->param_name] = std::string(segment);
            current = current->param_child.get();
        } else if (current->rest_child) {
            std::string remainder;
            for (std::size_t j = i; j < segments.size(); ++j)
                remainder.append(j == i ? "" : "/").append(segments[j]);
            params["*"] = std::move(remainder);
            current = current->rest_child.get();
            break;
        } else {
            current = nullptr;
        }
    }
    if (current == nullptr || current->routes.empty())
        return result;

    auto verb = upper(method);
    auto it = current->routes.find(verb);
    if (it == current->routes.end() && verb == "HEAD")
        it = current->routes.find("GET");
    if (it == current->routes.end()) {
        result.outcome = match_result::kind::method_not_allowed;
        for (auto const& [name, route] : current->routes) {
            result.allow += result.allow.empty() ? "" : ", ";
            result.allow += name;
        }
        return result;
    }

    result.outcome = match_result::kind::found;
    result.target = &it->second.target;
    result.filters = &it->second.filters;
    result.options = it->second.options;
    result.pattern = current->pattern;
    result.params = std::move(params);
    return result;
}

route_group::route_group(router& owner, std::string prefix, std::vector<filter> filters)
    : owner_(&owner), prefix_(std::move(prefix)), filters_(std::move(filters))
{
    while (!prefix_.empty() && prefix_.back() == '/')
        prefix_.pop_back();
}

route_group& route_group::route(std::string_view method, std::string_view path, handler h, route_options options)
{
    std::string full = prefix_;
    full += path;
    owner_->add(method, full, std::move(h), filters_, options);
    return *this;
}

route_group& route_group::get(std::string_view path, handler h, route_options options)
{
    return route("GET", path, std::move(h), options);
}

route_group& route_group::post(std::string_view path, handler h, route_options options)
{
    return route("POST", path, std::move(h), options);
}

route_group& route_group::put(std::string_view path, handler h, route_options options)
{
    return route("PUT", path, std::move(h), options);
}

route_group& route_group::patch(std::string_view path, handler h, route_options options)
{
    return route("PATCH", path, std::move(h), options);
}

route_group& route_group::del(std::string_view path, handler h, route_options options)
{
    return route("DELETE", path, std::move(h), options);
}

route_group route_group::group(std::string_view prefix, std::vector<filter> filters) const
{
    auto combined = filters_;
    combined.insert(combined.end(), std::make_move_iterator(filters.begin()), std::make_move_iterator(filters.end()));
    return route_group(*owner_, prefix_ + std::string(prefix), std::move(combined));
}

} // namespace ocean::http
