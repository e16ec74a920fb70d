#include <ocean/http/response.hpp>

#include <boost/json.hpp>

namespace ocean::http {

response response::ok()
{
    return json(boost::json::object{{"ok", true}});
}

response response::accepted()
{
    return json(boost::json::object{{"status", "accepted"}}, 202);
}

response response::json(boost::json::value const& body, unsigned status)
{
    response r;
    r.status = status;
    r.headers.set("Content-Type", "application/json");
    r.body = boost::json::serialize(body);
    return r;
}

response response::error(unsigned status, std::string_view code, std::string_view message)
{
    return json(boost::json::object{{"error", code}, {"message", message}}, status);
}

response response::text(std::string body, unsigned status, std::string_view content_type)
{
    response r;
    r.status = status;
    r.headers.set("Content-Type", content_type);
    r.body = std::move(body);
    return r;
}

} // namespace ocean::http
