#define BOOST_TEST_MODULE http_signature
#include <boost/test/unit_test.hpp>

#include <ocean/http/signature.hpp>

#include <boost/asio.hpp>

using namespace std::chrono_literals;
using ocean::http::signature_status;
using clock_type = std::chrono::system_clock;

namespace {

std::vector<std::string> const github_secret{"It's a Secret to Everybody"};

clock_type::time_point at(std::int64_t unix_seconds)
{
    return clock_type::time_point(std::chrono::seconds(unix_seconds));
}

// Runs a route filter to completion and returns the response it produced, if any.
std::optional<ocean::http::response> run_filter(ocean::http::filter const& f, ocean::http::request const& r)
{
    boost::asio::io_context io;
    auto future = boost::asio::co_spawn(io, f(r), boost::asio::use_future);
    io.run();
    return future.get();
}

ocean::http::request make_request(std::string body, std::vector<std::pair<std::string, std::string>> headers)
{
    ocean::http::fields fields;
    for (auto const& [name, value] : headers)
        fields.add(name, value);
    return ocean::http::request("POST", "/integration/github/webhook", std::move(fields), std::move(body));
}

} // namespace

BOOST_AUTO_TEST_CASE(signature_github_documented_vector)
{
    auto const v = ocean::http::verify_hmac_hex(
        "Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", github_secret);
    BOOST_TEST(static_cast<bool>(v));
    BOOST_TEST(ocean::http::hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!") ==
               "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

BOOST_AUTO_TEST_CASE(signature_github_utf8_body)
{
    std::string const body = "{\"action\":\"opened\",\"issue\":{\"id\":900001,\"number\":1,\"title\":\"Caf\xc3\xa9 "
                             "d\xc3\xa9ploiement \xf0\x9f\x9a\x80 na\xc3\xafve \xe2\x9c\x93\",\"state\":\"open\","
                             "\"user\":{\"login\":\"example-user\"}},\"repository\":{\"id\":700001,"
                             "\"full_name\":\"example-org/example-repo\"}}";
    BOOST_REQUIRE_EQUAL(body.size(), 210U);
    std::vector<std::string> const secret{"test-secret"};
    auto const header = "sha256=ececd30a4a00279259dad10dbf739da74290139997f2791421677b6b43ee21b1";
    BOOST_TEST(static_cast<bool>(ocean::http::verify_hmac_hex(body, header, secret)));

    auto tampered = body;
    tampered.replace(tampered.find("opened"), 6, "opend");
    BOOST_TEST((ocean::http::verify_hmac_hex(tampered, header, secret).status == signature_status::mismatch));
    BOOST_TEST((ocean::http::verify_hmac_hex(body, std::nullopt, secret).status == signature_status::missing));
    auto const zeros = "sha256=" + std::string(64, '0');
    auto const wrong = ocean::http::verify_hmac_hex(body, zeros, secret);
    BOOST_TEST((wrong.status == signature_status::mismatch));
    BOOST_TEST(wrong.reason.find("ececd30a") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(signature_github_wrong_secret_and_rotation)
{
    auto const header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    std::vector<std::string> const wrong{"another secret"};
    BOOST_TEST(!ocean::http::verify_hmac_hex("Hello, World!", header, wrong));
    std::vector<std::string> const rotated{"new secret", "It's a Secret to Everybody"};
    BOOST_TEST(static_cast<bool>(ocean::http::verify_hmac_hex("Hello, World!", header, rotated)));
}

BOOST_AUTO_TEST_CASE(signature_empty_key_never_matches)
{
    // HMAC-SHA256 keyed with the empty string: anyone can compute it.
    auto const header = "sha256=74350fb7166351cdc27892a5d7defbff1a7437cae6e3b61f627fa01fa946d1b8";
    std::string const body = R"({"action":"opened","issue":{"id":900028,"number":28,"title":"Secret not set","state":"open"},"repository":{"id":700001,"full_name":"example-org/example-repo"}})";
    BOOST_REQUIRE_EQUAL(ocean::http::hmac_sha256_hex("", body), std::string(header).substr(7));
    std::vector<std::string> const empty{""};
    BOOST_TEST(!ocean::http::verify_hmac_hex(body, header, empty));
    BOOST_TEST(!ocean::http::verify_hmac_hex(body, header, std::vector<std::string>{}));
    BOOST_CHECK_THROW(ocean::http::github_signature({}), std::invalid_argument);
    BOOST_CHECK_THROW(ocean::http::github_signature({""}), std::invalid_argument);
    BOOST_CHECK_THROW(ocean::http::token_header({}), std::invalid_argument);
    BOOST_CHECK_THROW(ocean::http::standard_webhooks({""}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(signature_gitlab_token_exact)
{
    std::vector<std::string> const secret{"test-gitlab-token"};
    BOOST_TEST(static_cast<bool>(ocean::http::verify_token("test-gitlab-token", secret)));
    for (auto const* wrong : {"test-gitlab-tokeX", "test-gitlab-token-extra", "TEST-GITLAB-TOKEN", "", " test-gitlab-token"}) {
        BOOST_TEST_CONTEXT("token " << wrong)
        {
            BOOST_TEST(!ocean::http::verify_token(std::string_view(wrong), secret));
        }
    }
    BOOST_TEST((ocean::http::verify_token(std::nullopt, secret).status == signature_status::missing));
}

BOOST_AUTO_TEST_CASE(signature_filter_rejects_duplicate_token_header)
{
    auto const f = ocean::http::token_header({"test-gitlab-token"});
    auto const twice = make_request("{}", {{"X-Gitlab-Token", "wrong"}, {"X-Gitlab-Token", "test-gitlab-token"}});
    auto const answer = run_filter(f, twice);
    BOOST_REQUIRE(answer.has_value());
    BOOST_TEST(answer->status == 400U);
    BOOST_TEST(answer->body.find("test-gitlab-token") == std::string::npos);

    auto const good = make_request("{}", {{"X-Gitlab-Token", "test-gitlab-token"}});
    BOOST_TEST(!run_filter(f, good).has_value());
    auto const missing = make_request("{}", {});
    BOOST_TEST(run_filter(f, missing)->status == 401U);
}

BOOST_AUTO_TEST_CASE(signature_github_filter_answers_401)
{
    auto const f = ocean::http::github_signature(github_secret);
    auto const good = make_request(
        "Hello, World!", {{"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}});
    BOOST_TEST(!run_filter(f, good).has_value());
    auto const bad = make_request("Hello, World?", {{"X-Hub-Signature-256",
                                                     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}});
    auto const answer = run_filter(f, bad);
    BOOST_REQUIRE(answer.has_value());
    BOOST_TEST(answer->status == 401U);
    BOOST_TEST(answer->body.find("757107ea") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(signature_pagerduty_rotation_list)
{
    std::string const body = R"({"event":{"id":"01PD0000000003","event_type":"incident.resolved","resource_type":"incident","occurred_at":"2026-01-01T00:00:00Z","data":{"id":"PINC003","type":"incident","title":"Disk full on db-01","status":"resolved"}}})";
    BOOST_REQUIRE_EQUAL(body.size(), 221U);
    std::vector<std::string> const secret{"pd-new-secret"};
    auto const both = "v1=04240f09666a38e2acd4f865e451b4c850cedac00d13cf395cce0289134032ed,"
                      "v1=a0083cd996b096ae9b02fd28616922ea963fc59be88d85eb36f13d9d4102de5c";
    BOOST_TEST(static_cast<bool>(ocean::http::verify_hmac_hex_list(body, both, secret)));
    auto const old_only = "v1=04240f09666a38e2acd4f865e451b4c850cedac00d13cf395cce0289134032ed";
    BOOST_TEST(!ocean::http::verify_hmac_hex_list(body, old_only, secret));
}

BOOST_AUTO_TEST_CASE(signature_standard_webhooks_vector)
{
    std::string const body = R"({"type":"invoice.paid","data":{"id":"inv_0003","amount":4200,"currency":"eur","customer":"cus_placeholder"}})";
    BOOST_REQUIRE_EQUAL(body.size(), 108U);
    std::vector<std::string> const current{"whsec_dGVzdC1zZWNyZXQtZm9yLWNhc2VzLTAwMw=="};
    auto const now = at(1767225600);
    auto const id = "msg_0000000000000000000003";
    auto const with_old_first = "v1,o8QOvMVuJnXblueSt5NZR4IUuvgFzwz/FTn+63F13Is= v1,oAeXCA+pY7pEcAnQ0/mzeJtyw6xiqzKFIr6m7UScdlg=";
    BOOST_TEST(static_cast<bool>(
        ocean::http::verify_standard_webhook(body, id, "1767225600", with_old_first, current, now)));

    std::vector<std::string> const old_secret{"whsec_b2xkLXNlY3JldC1mb3ItY2FzZXMtMDAz"};
    BOOST_TEST(static_cast<bool>(ocean::http::verify_standard_webhook(
        body, id, "1767225600", "v1,o8QOvMVuJnXblueSt5NZR4IUuvgFzwz/FTn+63F13Is=", old_secret, now)));
    BOOST_TEST(!ocean::http::verify_standard_webhook(body, id, "1767225600",
                                                     "v1,o8QOvMVuJnXblueSt5NZR4IUuvgFzwz/FTn+63F13Is=", current, now));
}

BOOST_AUTO_TEST_CASE(signature_standard_webhooks_expired)
{
    std::string const body = R"({"type":"invoice.paid"})";
    std::vector<std::string> const secret{"whsec_dGVzdC1zZWNyZXQtZm9yLWNhc2VzLTAwMw=="};
    auto const key = std::string("test-secret-for-cases-003");
    auto sign = [&](std::int64_t ts) {
        return "v1," + ocean::http::hmac_sha256_base64(key, "msg_1." + std::to_string(ts) + "." + body);
    };
    auto const now = at(1'800'000'000);
    BOOST_TEST(static_cast<bool>(ocean::http::verify_standard_webhook(body, "msg_1", "1800000000", sign(1'800'000'000),
                                                                      secret, now)));

    auto const old = ocean::http::verify_standard_webhook(body, "msg_1", "1799999400", sign(1'799'999'400), secret, now);
    BOOST_TEST((old.status == signature_status::expired));
    BOOST_TEST(old.reason.find("600 s old") != std::string::npos);
    auto const future = ocean::http::verify_standard_webhook(body, "msg_1", "1800000600", sign(1'800'000'600), secret, now);
    BOOST_TEST((future.status == signature_status::expired));
    BOOST_TEST(future.reason.find("in the future") != std::string::npos);

    BOOST_TEST((ocean::http::verify_standard_webhook(body, "msg_1", "yesterday", sign(0), secret, now).status ==
                signature_status::malformed));
    BOOST_TEST(!ocean::http::verify_standard_webhook(body, "msg_1", "1800000000", "v1a,AAAA v2,BBBB", secret, now));
    BOOST_TEST((ocean::http::verify_standard_webhook(body, std::nullopt, "1800000000", sign(1'800'000'000), secret, now)
                    .status == signature_status::missing));
}

BOOST_AUTO_TEST_CASE(signature_timestamped_scheme)
{
    std::string const body = R"({"id":"evt_1"})";
    std::vector<std::string> const secrets{"old", "new"};
    auto const now = at(1'800'000'000);
    auto const digest = ocean::http::hmac_sha256_hex("new", "1800000000." + body);
    BOOST_TEST(static_cast<bool>(ocean::http::verify_timestamped_hmac(
        body, "t=1800000000,v1=" + std::string(64, 'a') + ",v1=" + digest, secrets, now)));
    auto const stale = ocean::http::verify_timestamped_hmac(
        body, "t=1799999000,v1=" + ocean::http::hmac_sha256_hex("new", "1799999000." + body), secrets, now);
    BOOST_TEST((stale.status == signature_status::expired));
    BOOST_TEST((ocean::http::verify_timestamped_hmac(body, "v1=" + digest, secrets, now).status ==
                signature_status::malformed));
    BOOST_TEST(!ocean::http::verify_timestamped_hmac(body, "t=1800000000,v1=" + digest, std::vector<std::string>{"x"}, now));
}

BOOST_AUTO_TEST_CASE(signature_extreme_timestamp_expired)
{
    std::string const body = "{}";
    std::vector<std::string> const secrets{"s"};
    auto const now = at(1'800'000'000);
    // Values at the ends of int64 would overflow the skew computation; they are simply expired.
    for (std::string const t : {"-9223372036854775808", "9223372036854775807", "-1099511627777"}) {
        auto const v = ocean::http::verify_timestamped_hmac(
            body, "t=" + t + ",v1=" + ocean::http::hmac_sha256_hex("s", t + "." + body), secrets, now);
        BOOST_TEST_CONTEXT(t) { BOOST_TEST((v.status == signature_status::expired)); }
    }
}
