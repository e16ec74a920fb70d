// Fuzzes the Port emulator's routes with a short sequence of requests against a fresh catalog.
// Requests are separated by NUL bytes; each is `METHOD TARGET`, a line feed and the body. Every
// request carries a valid access token, so the /v1 handlers run instead of stopping at 401.
#include "fuzz_support.hpp"

#include "emulator.hpp"

#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>
#include <ocean/http/router.hpp>

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
using ocean::http::request;
using ocean::http::response;

constexpr std::size_t max_requests = 16;

// Mirrors the server: an error_response from a handler becomes its 4xx/5xx response, and a fault
// that resets the connection ends the request without one.
asio::awaitable<response> dispatch(request const& req, ocean::http::match_result const& match)
{
    try {
        co_return co_await (*match.target)(req);
    } catch (ocean::http::error_response const& e) {
        co_return response::error(e.status(), e.code(), e.what());
    } catch (ocean::http::abort_connection const&) {
        co_return response::error(599, "reset", "connection reset by an injected fault");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    ocean::fuzz::quiet_logging();

    // Each call to the clock moves time on by a second, so token expiry and fault windows move.
    auto now = ocean::fuzz::fixed_now();
    ocean::emulator::emulator port({}, [&now] { return now += std::chrono::seconds(1); });
    ocean::http::router routes;
    port.add_routes(routes);

    auto const issued = port.catalog().issue_token(
        boost::json::object{{"clientId", port.catalog().options().client_id},
                            {"clientSecret", port.catalog().options().client_secret}});
    auto const authorization = "Bearer " + std::string(issued.body.at("accessToken").as_string());

    std::string_view rest(reinterpret_cast<char const*>(data), size);
    for (std::size_t n = 0; n < max_requests && !rest.empty(); ++n) {
        auto const end = rest.find('\0');
        auto const text = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);

        auto const line_end = text.find('\n');
        auto const line = text.substr(0, line_end);
        auto const body = line_end == std::string_view::npos ? std::string_view() : text.substr(line_end + 1);
        auto const space = line.find(' ');
        if (space == std::string_view::npos)
            continue;
        std::string const method(line.substr(0, space));
        std::string const target(line.substr(space + 1));

        auto const raw_path = std::string_view(target).substr(0, std::string_view(target).find('?'));
        auto match = routes.match(method, raw_path);
        if (match.outcome != ocean::http::match_result::kind::found)
            continue;

        ocean::http::fields headers;
        headers.add("Authorization", authorization);
        headers.add("Content-Type", "application/json");
        headers.add("User-Agent", "port-ocean/fuzz/0.1.0/fuzz-id/exporter");
        request req(method, target, std::move(headers), std::string(body));
        req.set_route_params(std::move(match.params));
        req.set_request_id("fuzz");
        (void)ocean::fuzz::run_coroutine(dispatch(req, match), std::chrono::seconds(1));
    }
    return 0;
}
