#define BOOST_TEST_MODULE http_router
#include <boost/test/unit_test.hpp>

#include <ocean/http/router.hpp>

namespace asio = boost::asio;
using ocean::http::match_result;
using ocean::http::request;
using ocean::http::response;

namespace {

ocean::http::handler ok_handler()
{
    return [](request const&) -> asio::awaitable<response> { co_return response::ok(); };
}

} // namespace

BOOST_AUTO_TEST_CASE(router_matches_static_route)
{
    ocean::http::router r;
    r.group("/integration").post("/webhook", ok_handler());

    auto const m = r.match("POST", "/integration/webhook");
    BOOST_TEST((m.outcome == match_result::kind::found));
    BOOST_TEST(m.pattern == "/integration/webhook");
    BOOST_TEST(m.target != nullptr);
}

BOOST_AUTO_TEST_CASE(router_unknown_path_is_not_found)
{
    ocean::http::router r;
    r.group("/integration").post("/webhook", ok_handler());

    BOOST_TEST((r.match("POST", "/integration/nope").outcome == match_result::kind::not_found));
    BOOST_TEST((r.match("POST", "/integration").outcome == match_result::kind::not_found));
    BOOST_TEST((r.match("POST", "/webhook").outcome == match_result::kind::not_found));
}

BOOST_AUTO_TEST_CASE(router_wrong_method_lists_allowed)
{
    ocean::http::router r;
    r.add("POST", "/integration/webhook", ok_handler());
    r.add("PUT", "/integration/webhook", ok_handler());

    auto const m = r.match("GET", "/integration/webhook");
    BOOST_TEST((m.outcome == match_result::kind::method_not_allowed));
    BOOST_TEST(m.allow == "POST, PUT");
}

BOOST_AUTO_TEST_CASE(router_head_falls_back_to_get)
{
    ocean::http::router r;
    r.add("GET", "/health/live", ok_handler());
    BOOST_TEST((r.match("HEAD", "/health/live").outcome == match_result::kind::found));
}

BOOST_AUTO_TEST_CASE(router_captures_decoded_parameter)
{
    ocean::http::router r;
    r.add("POST", "/integration/webhook/{source}", ok_handler());

    auto const m = r.match("POST", "/integration/webhook/git%20hub");
    BOOST_TEST((m.outcome == match_result::kind::found));
    BOOST_TEST(m.params.at("source") == "git hub");
    BOOST_TEST(m.pattern == "/integration/webhook/{source}");
}

BOOST_AUTO_TEST_CASE(router_static_wins_over_parameter)
{
    ocean::http::router r;
    r.add("POST", "/hooks/{source}", ok_handler());
    r.add("POST", "/hooks/github", ok_handler());

    BOOST_TEST(r.match("POST", "/hooks/github").pattern == "/hooks/github");
    BOOST_TEST(r.match("POST", "/hooks/gitlab").pattern == "/hooks/{source}");
}

BOOST_AUTO_TEST_CASE(router_rest_segment_takes_remainder)
{
    ocean::http::router r;
    r.add("GET", "/files/*", ok_handler());

    auto const m = r.match("GET", "/files/a/b/c.txt");
    BOOST_TEST((m.outcome == match_result::kind::found));
    BOOST_TEST(m.params.at("*") == "a/b/c.txt");
}

BOOST_AUTO_TEST_CASE(router_rejects_paths_that_escape)
{
    ocean::http::router r;
    r.add("POST", "/integration/github/webhook", ok_handler());
    r.add("POST", "/integration/{source}/webhook", ok_handler());

    // Each of these must be rejected before any handler, not matched to another route.
    for (auto const* path : {"/integration/gitlab/../github/webhook", "/integration/%2e%2e/github/webhook",
                             "/integration/github%2fwebhook", "/integration/github%2Fwebhook",
                             "/integration/github%5cwebhook", "/integration/a%00b/webhook",
                             "/integration//webhook", "/integration/./webhook", "http://evil/integration/github/webhook",
                             "/integration/%zz/webhook"}) {
        BOOST_TEST_CONTEXT("path " << path)
        {
            BOOST_TEST((r.match("POST", path).outcome == match_result::kind::bad_path));
        }
    }
}

BOOST_AUTO_TEST_CASE(router_double_encoding_stays_literal)
{
    ocean::http::router r;
    r.add("POST", "/integration/{source}/webhook", ok_handler());

    // %252e decodes once to the literal text "%2e", which is a harmless segment name.
    auto const m = r.match("POST", "/integration/%252e%252e/webhook");
    BOOST_TEST((m.outcome == match_result::kind::found));
    BOOST_TEST(m.params.at("source") == "%2e%2e");
}

BOOST_AUTO_TEST_CASE(router_rejects_duplicate_route)
{
    ocean::http::router r;
    r.add("POST", "/integration/webhook", ok_handler());
    BOOST_CHECK_THROW(r.add("post", "/integration/webhook", ok_handler()), std::invalid_argument);
    BOOST_CHECK_THROW(r.add("POST", "no-slash", ok_handler()), std::invalid_argument);
    BOOST_CHECK_THROW(r.add("POST", "/a/*/b", ok_handler()), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(router_group_prepends_prefix_and_filters)
{
    ocean::http::router r;
    ocean::http::filter deny = [](request const&) -> asio::awaitable<std::optional<response>> {
        co_return response::error(401, "unauthorized", "no");
    };
    auto provider = r.group("/integration").group("/github", {deny});
    provider.post("/webhook", ok_handler());

    auto const m = r.match("POST", "/integration/github/webhook");
    BOOST_TEST((m.outcome == match_result::kind::found));
    BOOST_TEST(m.filters->size() == 1U);
}
