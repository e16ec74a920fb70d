// Fuzzes one HTTP/1.1 request through the steps the server takes before a handler runs. These are
// Beast's request parser with the server's default limits, the target limit, and the route table
// of a real ocean::http::server. The table has the server's health and metrics routes plus
// application routes with parameters, a wildcard, a signature filter and a raw body. Then come the
// JSON body check and the request accessors that handlers call.
// NOTE: the server's socket loop (timeouts, keep-alive, 100-continue) is not driven, because a
// loopback connection per input would cut the executions per second by orders of magnitude.
#include "fuzz_support.hpp"

#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>
#include <ocean/http/router.hpp>
#include <ocean/http/server.hpp>
#include <ocean/http/signature.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using ocean::http::request;
using ocean::http::response;

// Handlers touch every accessor a real handler might, so their parsing is fuzzed too.
asio::awaitable<response> echo_handler(request const& req)
{
    boost::json::object out;
    out["path"] = std::string(req.path());
    out["id"] = std::string(req.param("id"));
    out["rest"] = std::string(req.param("*"));
    if (auto value = req.query("page"))
        out["page"] = *value;
    if (!req.body().empty() && req.has_json_content_type())
        out["body"] = req.json();
    co_return response::json(out);
}

asio::awaitable<response> form_handler(request const& req)
{
    boost::json::object out;
    for (auto const& [key, value] : req.form())
        out[key] = value;
    co_return response::json(out);
}

struct fixture {
    asio::io_context io;
    ocean::http::server_config config;
    std::unique_ptr<ocean::http::server> server;

    fixture()
    {
        ocean::fuzz::quiet_logging();
        server = std::make_unique<ocean::http::server>(io.get_executor(), config);
        auto& routes = server->router();
        routes.add("POST", "/integration/webhook", echo_handler);
        routes.add("GET", "/items/{id}", echo_handler);
        routes.add("PUT", "/items/{id}/tags/{tag}", echo_handler);
        routes.add("GET", "/static/*", echo_handler);
        routes.add("POST", "/forms/{id}", form_handler, {}, {ocean::http::body_mode::raw});
        auto signed_group = routes.group("/signed", {ocean::http::github_signature({"fuzz-secret"})});
        signed_group.post("/{source}", echo_handler);
    }
};

// Mirrors the server: a response for every outcome, exceptions from handlers turned into 4xx/5xx.
asio::awaitable<response> dispatch(request& req, ocean::http::match_result const& match)
{
    try {
        if (match.options.body == ocean::http::body_mode::json && !req.body().empty() &&
            (!req.header("Content-Type") || req.has_json_content_type()))
            (void)req.json();
        for (auto const& filter : *match.filters)
            if (auto early = co_await filter(req))
                co_return std::move(*early);
        co_return co_await (*match.target)(req);
    } catch (ocean::http::error_response const& e) {
        co_return response::error(e.status(), e.code(), e.what());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    static fixture state;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(state.config.header_limit));
    parser.body_limit(state.config.body_limit);
    parser.eager(true);

    boost::beast::error_code ec;
    asio::const_buffer input(data, size);
    while (input.size() > 0 && !parser.is_done()) {
        auto const used = parser.put(input, ec);
        input += used;
        if (ec || used == 0)
            break;
    }
    if (ec == bhttp::error::need_more)
        parser.put_eof(ec);
    if (ec || !parser.is_done())
        return 0;

    auto message = parser.release();
    std::string const method(message.method_string());
    std::string const target(message.target());
    if (target.size() > state.config.target_limit)
        return 0;

    auto const raw_path = std::string_view(target).substr(0, std::string_view(target).find('?'));
    auto match = state.server->router().match(method, raw_path);
    if (match.outcome != ocean::http::match_result::kind::found)
        return 0;

    ocean::http::fields headers;
    for (auto const& field : message.base())
        headers.add(field.name_string(), field.value());
    request req(method, target, std::move(headers), std::move(message.body()));
    req.set_route_params(std::move(match.params));
    req.set_request_id("fuzz");
    req.set_json_limits(state.config.json);

    (void)ocean::fuzz::run_coroutine(dispatch(req, match), std::chrono::seconds(5));
    return 0;
}
