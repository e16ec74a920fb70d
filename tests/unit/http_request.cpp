#define BOOST_TEST_MODULE http_request
#include <boost/test/unit_test.hpp>

#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>
#include <ocean/http/typed_body.hpp>

#include <boost/describe/class.hpp>

#include <boost/json.hpp>

#include <string>
#include <utility>
#include <vector>

using ocean::http::error_response;
using ocean::http::fields;
using ocean::http::request;

namespace {

request make(std::string body, std::string content_type = "application/json", std::string target = "/integration/webhook")
{
    fields headers;
    if (!content_type.empty())
        headers.set("Content-Type", content_type);
    return request("POST", std::move(target), std::move(headers), std::move(body));
}

unsigned status_of(request const& r)
{
    try {
        (void)r.json();
    } catch (error_response const& e) {
        return e.status();
    }
    return 200;
}

} // namespace

BOOST_AUTO_TEST_CASE(request_parses_json_once)
{
    auto const r = make(R"({"event":"new","id":9007199254740993})");
    auto const& first = r.json();
    BOOST_TEST(first.at("event").as_string() == "new");
    BOOST_TEST(first.at("id").as_int64() == 9007199254740993LL);
    BOOST_TEST(&first == &r.json());
}

BOOST_AUTO_TEST_CASE(request_invalid_json_is_400_with_offset)
{
    auto const r = make("not json");
    try {
        (void)r.json();
        BOOST_FAIL("expected error_response");
    } catch (error_response const& e) {
        BOOST_TEST(e.status() == 400U);
        BOOST_TEST(e.code() == "invalid_json");
        BOOST_TEST(std::string(e.what()).find("at byte") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(request_malformed_bodies_are_400)
{
    for (auto const* body : {"{\"a\":1", "{\"a\":1,}", "{\"a\":1} // c", "", "{\"a\":NaN}", "{\"a\":\"\xff\"}",
                             "{\"a\":1} {\"b\":2}"}) {
        BOOST_TEST_CONTEXT("body " << body)
        {
            BOOST_TEST(status_of(make(body)) == 400U);
        }
    }
}

BOOST_AUTO_TEST_CASE(request_json_array_body_parses)
{
    BOOST_TEST(make("[1,2,3]").json().as_array().size() == 3U);
    BOOST_TEST(status_of(make("  {\"a\":1}\r\n")) == 200U);
}

BOOST_AUTO_TEST_CASE(request_json_media_types)
{
    BOOST_TEST(status_of(make("{}", "application/json; charset=utf-8")) == 200U);
    BOOST_TEST(status_of(make("{}", "application/vnd.github+json")) == 200U);
    BOOST_TEST(status_of(make("{}", "Application/JSON")) == 200U);
    BOOST_TEST(status_of(make("{}", "")) == 200U);
    BOOST_TEST(status_of(make("{}", "text/plain")) == 415U);
}

BOOST_AUTO_TEST_CASE(request_json_depth_limit)
{
    std::string deep(300, '[');
    deep += std::string(300, ']');
    auto r = make(deep);
    BOOST_TEST(status_of(r) == 400U);

    auto shallow = make(std::string(10, '[') + std::string(10, ']'));
    BOOST_TEST(status_of(shallow) == 200U);
}

BOOST_AUTO_TEST_CASE(request_form_body_decodes_payload)
{
    auto const r = make("payload=%7B%22event%22%3A%22new%22%7D&note=a+b", "application/x-www-form-urlencoded");
    auto const& form = r.form();
    BOOST_TEST(form.find("payload")->second == R"({"event":"new"})");
    BOOST_TEST(form.find("note")->second == "a b");
}

BOOST_AUTO_TEST_CASE(request_query_and_path)
{
    auto const r = make("{}", "application/json", "/integration/web%20hook?source=git%20hub&x=1");
    BOOST_TEST(r.path() == "/integration/web hook");
    BOOST_TEST(r.query("source").value() == "git hub");
    BOOST_TEST(r.query("x").value() == "1");
    BOOST_TEST(!r.query("missing").has_value());
}

BOOST_AUTO_TEST_CASE(response_error_shape)
{
    auto const r = ocean::http::response::error(404, "not_found", "no route for POST /integration/nope");
    BOOST_TEST(r.status == 404U);
    BOOST_TEST(r.headers.get("Content-Type").value() == "application/json");
    auto const body = boost::json::parse(r.body);
    BOOST_TEST(body.at("error").as_string() == "not_found");
    BOOST_TEST(body.at("message").as_string() == "no route for POST /integration/nope");
}

namespace {

struct label {
    std::string name;
};
BOOST_DESCRIBE_STRUCT(label, (), (name))

struct issue {
    std::int64_t id = 0;
    std::string title;
    std::vector<label> labels;
    std::optional<std::string> assignee;
};
BOOST_DESCRIBE_STRUCT(issue, (), (id, title, labels, assignee))

struct issue_event {
    std::string action;
    issue issue_data;
};
BOOST_DESCRIBE_STRUCT(issue_event, (), (action, issue_data))

std::string typed_error(std::string body)
{
    try {
        (void)ocean::http::body_as<issue_event>(make(std::move(body)));
    } catch (error_response const& e) {
        return std::to_string(e.status()) + " " + e.what();
    }
    return "ok";
}

} // namespace

BOOST_AUTO_TEST_CASE(typed_body_reads_described_struct)
{
    auto const event = ocean::http::body_as<issue_event>(make(
        R"({"action":"opened","issue_data":{"id":7,"title":"Crash","labels":[{"name":"bug"}],"extra":1}})"));
    BOOST_TEST(event.action == "opened");
    BOOST_TEST(event.issue_data.id == 7);
    BOOST_TEST(event.issue_data.labels.at(0).name == "bug");
    BOOST_TEST(!event.issue_data.assignee.has_value());
}

BOOST_AUTO_TEST_CASE(typed_body_failure_names_field_path)
{
    BOOST_TEST(typed_error(R"({"action":"opened"})") == "422 field 'issue_data' is missing");
    BOOST_TEST(typed_error(R"({"action":"opened","issue_data":{"id":"7","title":"x","labels":[]}})") ==
               "422 field 'issue_data.id': expected a number, got a string");
    BOOST_TEST(typed_error(R"({"action":"opened","issue_data":{"id":7,"title":"x","labels":[{"name":"a"},{"name":3}]}})") ==
               "422 field 'issue_data.labels[1].name': expected a string, got a number");
    BOOST_TEST(typed_error("[1]") == "422 field '$': expected an object, got an array");
    BOOST_TEST(typed_error("{").starts_with("400 "));
}

BOOST_AUTO_TEST_CASE(fields_lookup_ignores_case)
{
    ocean::http::fields f;
    f.add("Content-Type", "application/json");
    f.add("X-Hub-Signature-256", "sha256=00");
    f.add("x-hub-signature-256", "sha256=11");

    BOOST_TEST(f.size() == 3U);
    BOOST_TEST(f.get("content-type").value() == "application/json");
    BOOST_TEST(f.get("X-HUB-SIGNATURE-256").value() == "sha256=00");
    BOOST_TEST(f.count("X-Hub-Signature-256") == 2U);
    BOOST_TEST(!f.get("Missing"));
}

BOOST_AUTO_TEST_CASE(fields_set_erase_and_iterate)
{
    ocean::http::fields f;
    f.reserve(4, 64);
    f.add("A", "1");
    f.add("B", "2");
    f.add("a", "3");
    f.set("A", "4");

    std::vector<std::pair<std::string, std::string>> seen;
    for (auto const [name, value] : f)
        seen.emplace_back(name, value);
    std::vector<std::pair<std::string, std::string>> const expected{{"B", "2"}, {"A", "4"}};
    BOOST_TEST((seen == expected));

    f.erase("b");
    BOOST_TEST(f.size() == 1U);
    BOOST_TEST(f.get("A").value() == "4");
    BOOST_TEST((f.end() - f.begin()) == 1);
}

BOOST_AUTO_TEST_CASE(fields_token_and_value_rules)
{
    BOOST_TEST(ocean::http::is_token("X-Request-ID"));
    BOOST_TEST(!ocean::http::is_token(""));
    BOOST_TEST(!ocean::http::is_token("Bad Name"));
    BOOST_TEST(!ocean::http::is_token("Name:"));
    BOOST_TEST(ocean::http::is_safe_field_value("text/plain; charset=utf-8"));
    BOOST_TEST(!ocean::http::is_safe_field_value("a\r\nSet-Cookie: x=1"));
    BOOST_TEST(!ocean::http::is_safe_field_value(std::string_view("a\0b", 3)));
}
