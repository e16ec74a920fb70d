// Unit tests of entity_processor: jq semantics, itemsToParse, large integers, threads.
#include <ocean/error.hpp>
#include <ocean/mapping/entity_processor.hpp>
#include <ocean/mapping/parallel_entity_processor.hpp>

#define BOOST_TEST_MODULE mapping_processor
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace json = boost::json;
using ocean::mapping::entity_processor;
using ocean::mapping::mapping_result;
using ocean::mapping::port_app_config;

namespace {

entity_processor make_processor(std::string const& yaml, ocean::mapping::processor_options options = {})
{
    return entity_processor(port_app_config::from_yaml(yaml), options);
}

mapping_result map_one(entity_processor const& processor, std::string const& kind, std::string const& item)
{
    std::vector<json::value> items{json::parse(item)};
    return processor.map(kind, items);
}

bool has_misconfiguration(mapping_result const& result, std::string const& path)
{
    for (auto const& entry : result.misconfigured) {
        if (entry.path == path)
            return true;
    }
    return false;
}

/// Compares as jq does: numbers by value, so the input's 1.0 (copied natively) equals jq's 1.
bool same_json(json::value const& left, json::value const& right)
{
    if (left.is_number() && right.is_number())
        return left.to_number<double>() == right.to_number<double>();
    if (left.is_array() && right.is_array()) {
        auto const& a = left.get_array();
        auto const& b = right.get_array();
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!same_json(a[i], b[i]))
                return false;
        }
        return true;
    }
    if (left.is_object() && right.is_object()) {
        auto const& a = left.get_object();
        auto const& b = right.get_object();
        if (a.size() != b.size())
            return false;
        for (auto const& member : a) {
            auto const* other = b.if_contains(member.key());
            if (other == nullptr || !same_json(member.value(), *other))
                return false;
        }
        return true;
    }
    return left == right;
}

/// The mapping of the missing-fields case: a GitHub issue with optional members.
constexpr char const* issue_config = R"(
resources:
  - kind: issue
    selector: { query: '.issue != null' }
    port:
      entity:
        mappings:
          identifier: .issue.id
          title: .issue.title
          blueprint: '"githubIssue"'
          properties:
            assignee: .issue.assignee.login
            milestone: .issue.milestone.title // "none"
            labels: '[.issue.labels[]?.name]'
            labelsStrict: '[.issue.labels[].name]'
            repo: .repository.full_name
)";

/// The mapping of the itemsToParse case: one entity per pull-request label.
constexpr char const* label_config = R"(
resources:
  - kind: pull_request
    selector: { query: '.item.name | startswith("team:")' }
    port:
      itemsToParse: .pull_request.labels
      entity:
        mappings:
          identifier: .item.id | tostring
          title: .item.name
          blueprint: '"teamLabel"'
          properties:
            color: .item.color
            pr: .pull_request.number
            repo: .repository.full_name
            labelsLeft: .pull_request.labels
)";

} // namespace

BOOST_AUTO_TEST_CASE(missing_parents_yield_null)
{
    auto const processor = make_processor(issue_config);
    auto const result = map_one(processor, "issue",
                                R"({"action":"opened","issue":{"id":900016,"title":"No assignee, no labels",)"
                                R"("state":"open","assignee":null},"repository":{"id":700001,)"
                                R"("full_name":"example-org/example-repo"}})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    auto const& entity = result.passed[0];
    BOOST_TEST(entity.identifier == json::value("900016"));
    BOOST_TEST(entity.blueprint == "githubIssue");
    BOOST_TEST(entity.title == json::value("No assignee, no labels"));
    BOOST_TEST(entity.properties.at("assignee").is_null());
    BOOST_TEST(entity.properties.at("milestone") == json::value("none"));
    BOOST_TEST(entity.properties.at("labels") == json::value(json::array{}));
    BOOST_TEST(entity.properties.at("repo") == json::value("example-org/example-repo"));
    BOOST_TEST(result.skipped == 0u);
    BOOST_TEST(result.errors.empty());
}

BOOST_AUTO_TEST_CASE(jq_error_nulls_only_that_field)
{
    auto const processor = make_processor(issue_config);
    auto const result = map_one(processor, "issue",
                                R"({"issue":{"id":1,"title":"t"},"repository":{"full_name":"o/r"}})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    BOOST_TEST(result.passed[0].properties.at("labelsStrict").is_null());
    BOOST_TEST(result.passed[0].properties.at("repo") == json::value("o/r"));

    bool found = false;
    for (auto const& entry : result.misconfigured) {
        if (entry.path == "properties.labelsStrict") {
            found = true;
            BOOST_TEST(entry.kind == "issue");
            // jq 1.6 appends the value: "Cannot iterate over null (null)".
            BOOST_TEST(entry.message.starts_with("jq error: Cannot iterate over null"));
            BOOST_TEST(entry.item == 0u);
        }
    }
    BOOST_TEST(found);
    BOOST_TEST(has_misconfiguration(result, "properties.assignee"));
}

BOOST_AUTO_TEST_CASE(empty_and_null_outputs_misconfigured)
{
    auto const processor = make_processor(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"repo"'
          title: .tags[]
          properties:
            nothing: empty
            literalNull: "null"
            firstOfMany: .tags[]
            kept: .name
)");
    auto const result = map_one(processor, "repo", R"({"name":"api","tags":["b","c"]})");
    auto const untagged = map_one(processor, "repo", R"({"name":"api","tags":[]})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    auto const& entity = result.passed[0];
    BOOST_TEST(entity.title == json::value("b"));
    BOOST_TEST(entity.properties.at("nothing").is_null());
    BOOST_TEST(entity.properties.at("literalNull").is_null());
    BOOST_TEST(entity.properties.at("firstOfMany") == json::value("b"));
    BOOST_TEST(entity.properties.at("kept") == json::value("api"));
    BOOST_TEST_REQUIRE(result.misconfigured.size() == 2u);
    BOOST_TEST(result.misconfigured[0].path == "properties.nothing");
    BOOST_TEST(result.misconfigured[0].message == "yielded no output");
    BOOST_TEST(result.misconfigured[1].path == "properties.literalNull");
    BOOST_TEST(result.misconfigured[1].message == "mapped to null");

    BOOST_TEST_REQUIRE(untagged.passed.size() == 1u);
    BOOST_TEST(untagged.passed[0].title.is_null());
    BOOST_TEST(untagged.passed[0].to_json().if_contains("title") == nullptr);
    BOOST_TEST(has_misconfiguration(untagged, "title"));
}

BOOST_AUTO_TEST_CASE(null_identifier_skips_entity)
{
    auto const processor = make_processor(issue_config);
    auto const result = map_one(processor, "issue",
                                R"({"action":"opened","issue":{"title":"Id is missing","state":"open"},)"
                                R"("repository":{"id":700001,"full_name":"example-org/example-repo"}})");

    BOOST_TEST(result.passed.empty());
    BOOST_TEST(result.failed.empty());
    BOOST_TEST(result.skipped == 1u);
    BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
    BOOST_TEST(result.warnings[0].find("kind \"issue\"") != std::string::npos);
    BOOST_TEST(result.warnings[0].find("identifier mapped to null") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(null_text_identifier_warns)
{
    auto const processor = make_processor(R"(
resources:
  - kind: issue
    port:
      entity:
        mappings: { identifier: .issue.id | tostring, blueprint: '"githubIssue"' }
)");
    auto const result = map_one(processor, "issue", R"({"issue":{"title":"Id is missing"}})");

    // jq-faithful: the entity is produced, and a warning gives the likely cause of the name "null".
    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    BOOST_TEST(result.passed[0].identifier == json::value("null"));
    BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
    BOOST_TEST(result.warnings[0] == "kind \"issue\" (resources[0]), item 0: identifier is the string \"null\", "
                                     "probably a missing value passed through tostring");
}

BOOST_AUTO_TEST_CASE(selector_false_maps_into_failed)
{
    auto const processor = make_processor(issue_config);
    auto const result = map_one(processor, "issue",
                                R"({"action":"opened","issue":{"id":5,"title":"x"},"repository":null})");
    auto const rejected = map_one(processor, "issue", R"({"action":"opened","issue":null,"repository":{}})");

    BOOST_TEST(result.passed.size() == 1u);
    BOOST_TEST(rejected.passed.empty());
    // The identifier is null, so even the deletion candidate is dropped, quietly.
    BOOST_TEST(rejected.failed.empty());
    BOOST_TEST(rejected.warnings.empty());
    BOOST_TEST(rejected.misconfigured.empty());
    BOOST_TEST(rejected.skipped == 0u);

    auto const deletable = make_processor(R"(
resources:
  - kind: repo
    selector: { query: .archived | not }
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"', properties: { missing: .nothing } }
)");
    auto const archived = map_one(deletable, "repo", R"({"name":"old","archived":true})");
    BOOST_TEST(archived.passed.empty());
    BOOST_TEST_REQUIRE(archived.failed.size() == 1u);
    BOOST_TEST(archived.failed[0].identifier == json::value("old"));
    BOOST_TEST(archived.misconfigured.empty());
}

BOOST_AUTO_TEST_CASE(non_boolean_selector_is_error)
{
    auto const processor = make_processor(R"(
resources:
  - kind: repo
    selector: { query: .name }
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"' }
)");
    auto const result = map_one(processor, "repo", R"({"name":"api"})");

    BOOST_TEST(result.passed.empty());
    BOOST_TEST(result.failed.empty());
    BOOST_TEST_REQUIRE(result.errors.size() == 1u);
    BOOST_TEST(result.errors[0] ==
               "kind \"repo\" (resources[0]), item 0: selector.query must yield a boolean, got string \"api\"");
}

BOOST_AUTO_TEST_CASE(unicode_and_escapes_round_trip)
{
    auto const processor = make_processor(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"repo"'
          title: .title
          properties:
            viaJq: .title | ascii_downcase | ascii_upcase
            object: '{t: .title}'
)");
    // Accents, CJK, an emoji outside the BMP, escapes, a NUL and a control character.
    std::vector<std::string> const titles = {
        "Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x9A\x80",
        "quote \" backslash \\ slash / tab \t newline \n",
        std::string("nul \0 and \x01 control", sizeof "nul \0 and \x01 control" - 1),
        "",
    };
    for (auto const& title : titles) {
        json::object item{{"name", "n"}, {"title", title}};
        std::vector<json::value> items{item};
        auto const result = processor.map("repo", items);

        BOOST_TEST_REQUIRE(result.passed.size() == 1u);
        auto const& entity = result.passed[0];
        BOOST_TEST(entity.title == json::value(title));
        BOOST_TEST(entity.properties.at("object") == json::value(json::object{{"t", title}}));
        BOOST_TEST(json::serialize(entity.properties.at("object").at("t")) == json::serialize(json::value(title)));
    }
}

BOOST_AUTO_TEST_CASE(large_integers_copied_exactly)
{
    auto const processor = make_processor(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"repo"'
          properties:
            plain: .id
            viaJq: .id // 0
            inObject: '{id: .id, small: .small}'
            asText: .id | tostring
            other: .other
)");
    struct case_row {
        char const* text;
        char const* identifier;
    };
    std::vector<case_row> const rows = {
        {R"({"id":9223372036854775807,"other":9007199254740993,"small":7})", "9223372036854775807"},
        {R"({"id":9007199254740993,"other":-9223372036854775807,"small":7})", "9007199254740993"},
        {R"({"id":18446744073709551615,"other":1,"small":7})", "18446744073709551615"},
    };
    for (auto const& row : rows) {
        auto const item = json::parse(row.text);
        std::vector<json::value> items{item};
        auto const result = processor.map("repo", items);

        BOOST_TEST_REQUIRE(result.passed.size() == 1u);
        auto const& entity = result.passed[0];
        BOOST_TEST(entity.identifier == json::value(row.identifier));
        BOOST_TEST(entity.properties.at("plain") == item.at("id"));
        BOOST_TEST(entity.properties.at("viaJq") == item.at("id"));
        BOOST_TEST(entity.properties.at("inObject").at("id") == item.at("id"));
        BOOST_TEST(entity.properties.at("inObject").at("small") == json::value(7));
        BOOST_TEST(entity.properties.at("asText") == json::value(row.identifier));
        BOOST_TEST(entity.properties.at("other") == item.at("other"));
        BOOST_TEST(result.warnings.empty());
    }
}

BOOST_AUTO_TEST_CASE(ambiguous_large_integer_warns)
{
    auto const processor = make_processor(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"', properties: { pair: '[.a, .b] | max' } }
)");
    // Both integers round to the same double, so jq's output cannot be traced back to one of them.
    auto const result = map_one(processor, "repo", R"({"name":"n","a":9007199254740993,"b":9007199254740992})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
    BOOST_TEST(result.warnings[0].find("properties.pair") != std::string::npos);
    BOOST_TEST(result.warnings[0].find("2^53") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(single_quotes_rewritten)
{
    auto const processor = make_processor(R"(
resources:
  - kind: repo
    selector: { query: ".visibility == 'public'" }
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: "'repo'"
          properties:
            apostrophe: "\"it's\""
            interpolated: "\"\\(.name // 'x')-\\(.visibility)\""
            quoteInside: "'say \"hi\"'"
)");
    auto const result = map_one(processor, "repo", R"({"name":"api","visibility":"public"})");
    auto const hidden = map_one(processor, "repo", R"({"name":"api","visibility":"private"})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    auto const& entity = result.passed[0];
    BOOST_TEST(entity.blueprint == "repo");
    BOOST_TEST(entity.properties.at("apostrophe") == json::value("it's"));
    BOOST_TEST(entity.properties.at("interpolated") == json::value("api-public"));
    BOOST_TEST(entity.properties.at("quoteInside") == json::value("say \"hi\""));
    BOOST_TEST(hidden.passed.empty());
    BOOST_TEST(hidden.failed.size() == 1u);
}

BOOST_AUTO_TEST_CASE(search_query_identifier_evaluated)
{
    auto const processor = make_processor(R"(
resources:
  - kind: deployment
    port:
      entity:
        mappings:
          identifier:
            combinator: '"and"'
            rules:
              - property: '"$title"'
                operator: '"="'
                value: .service.name
          blueprint: '"deployment"'
          relations:
            owner:
              combinator: '"or"'
              rules:
                - { property: '"email"', operator: '"="', value: .owner.email }
            missing:
              combinator: '"and"'
              rules:
                - { property: '"$identifier"', operator: '"="', value: .nothing }
)");
    auto const result = map_one(processor, "deployment", R"({"service":{"name":"api"},"owner":{"email":"a@b.c"}})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    auto const& entity = result.passed[0];
    auto const expected_identifier = json::parse(
        R"({"combinator":"and","rules":[{"property":"$title","operator":"=","value":"api"}]})");
    BOOST_TEST(entity.identifier == expected_identifier);
    BOOST_TEST(!entity.has_string_identifier());
    BOOST_TEST(entity.relations.at("owner").at("rules").at(0).at("value") == json::value("a@b.c"));
    BOOST_TEST(entity.relations.at("missing").at("rules").at(0).at("value").is_null());
    BOOST_TEST(has_misconfiguration(result, "relations.missing.rules[0].value"));
}

BOOST_AUTO_TEST_CASE(items_to_parse_fans_out)
{
    auto const processor = make_processor(label_config);
    auto const result = map_one(
        processor, "pull_request",
        R"({"action":"labeled","pull_request":{"id":330015,"number":15,"title":"Tidy build","labels":[)"
        R"({"id":61,"name":"team:core","color":"ededed"},{"id":62,"name":"bug","color":"d73a4a"},)"
        R"({"id":63,"name":"team:infra","color":"0e8a16"}]},)"
        R"("repository":{"id":700001,"full_name":"example-org/example-repo"}})");

    BOOST_TEST_REQUIRE(result.passed.size() == 2u);
    BOOST_TEST(result.passed[0].identifier == json::value("61"));
    BOOST_TEST(result.passed[0].title == json::value("team:core"));
    BOOST_TEST(result.passed[0].properties.at("color") == json::value("ededed"));
    BOOST_TEST(result.passed[0].properties.at("pr") == json::value(15));
    BOOST_TEST(result.passed[0].properties.at("repo") == json::value("example-org/example-repo"));
    BOOST_TEST(result.passed[1].identifier == json::value("63"));
    BOOST_TEST(result.passed[1].properties.at("color") == json::value("0e8a16"));
    // The top-level transform removed the array from the parent.
    BOOST_TEST(result.passed[0].properties.at("labelsLeft").is_null());
    BOOST_TEST_REQUIRE(result.failed.size() == 1u);
    BOOST_TEST(result.failed[0].identifier == json::value("62"));
}

BOOST_AUTO_TEST_CASE(items_to_parse_edge_cases)
{
    auto const processor = make_processor(label_config);
    struct case_row {
        char const* labels;
        std::size_t warnings;
        char const* warning_part;
    };
    std::vector<case_row> const rows = {
        {R"("labels":[],)", 0, ""},
        {"", 1, "must yield an array, got null"},
        {R"("labels":{"id":61,"name":"team:core"},)", 1, "must yield an array, got object"},
        {R"("labels":"team:core",)", 1, "must yield an array, got string \"team:core\""},
    };
    for (auto const& row : rows) {
        auto const text = std::string(R"({"pull_request":{)") + row.labels +
                          R"("number":15},"repository":{"full_name":"o/r"}})";
        auto const result = map_one(processor, "pull_request", text);

        BOOST_TEST(result.passed.empty());
        BOOST_TEST(result.failed.empty());
        BOOST_TEST(result.errors.empty());
        BOOST_TEST_REQUIRE(result.warnings.size() == row.warnings);
        if (row.warnings > 0) {
            BOOST_TEST(result.warnings[0].find(row.warning_part) != std::string::npos);
            BOOST_TEST(result.warnings[0].find("kind \"pull_request\"") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(items_to_parse_constant_warns)
{
    auto const processor = make_processor(R"(
resources:
  - kind: k
    port:
      itemsToParse: '"not a list"'
      entity:
        mappings: { identifier: .item, blueprint: '"b"' }
)");
    auto const result = map_one(processor, "k", R"({"a":1})");

    BOOST_TEST(result.passed.empty());
    BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
    BOOST_TEST(result.warnings[0] == "kind \"k\" (resources[0]), item 0: port.itemsToParse must yield an array, "
                                     "got string \"not a list\"; item skipped");
}

BOOST_AUTO_TEST_CASE(items_to_parse_native_default)
{
    auto const processor = make_processor(R"(
resources:
  - kind: team
    port:
      itemsToParse: .members // .owners
      entity:
        mappings: { identifier: .item.login, blueprint: '"user"', properties: { team: .name, rest: .members } }
)");
    auto const result = map_one(processor, "team", R"({"name":"core","owners":[{"login":"ann"},{"login":"bob"}]})");
    auto const empty = map_one(processor, "team", R"({"name":"core","members":false})");

    BOOST_TEST_REQUIRE(result.passed.size() == 2u);
    BOOST_TEST(result.passed[0].identifier == json::value("ann"));
    BOOST_TEST(result.passed[1].identifier == json::value("bob"));
    BOOST_TEST(result.passed[1].properties.at("team") == json::value("core"));
    BOOST_TEST(empty.passed.empty());
    BOOST_TEST_REQUIRE(empty.warnings.size() == 1u);
    BOOST_TEST(empty.warnings[0].find("must yield an array, got null") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(items_to_parse_shadows_item_key)
{
    auto const processor = make_processor(label_config);
    auto const result = map_one(processor, "pull_request",
                                R"({"pull_request":{"number":15,"labels":[{"id":61,"name":"team:core",)"
                                R"("color":"ededed"}]},"repository":{"full_name":"o/r"},"item":"payload-level-key"})");

    BOOST_TEST_REQUIRE(result.passed.size() == 1u);
    BOOST_TEST(result.passed[0].identifier == json::value("61"));
    BOOST_TEST(result.passed[0].title == json::value("team:core"));
}

BOOST_AUTO_TEST_CASE(items_to_parse_thousand_elements)
{
    auto const processor = make_processor(label_config);
    json::array labels;
    for (int i = 0; i < 1000; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "team:t%04d", i);
        labels.push_back(json::object{{"id", 1000 + i}, {"name", name}, {"color", "ffffff"}});
    }
    json::value item = json::object{{"pull_request", json::object{{"number", 15}, {"labels", labels}}},
                                    {"repository", json::object{{"full_name", "o/r"}}}};
    std::vector<json::value> items{item};
    auto const result = processor.map("pull_request", items);

    BOOST_TEST_REQUIRE(result.passed.size() == 1000u);
    BOOST_TEST(result.passed.front().identifier == json::value("1000"));
    BOOST_TEST(result.passed.back().identifier == json::value("1999"));
    BOOST_TEST(result.passed.back().title == json::value("team:t0999"));
}

BOOST_AUTO_TEST_CASE(items_to_parse_custom_name_no_transform)
{
    auto const processor = make_processor(R"(
resources:
  - kind: team
    port:
      itemsToParse: .members | map(select(.active))
      itemsToParseName: member
      itemsToParseTopLevelTransform: false
      entity:
        mappings:
          identifier: .member.login
          blueprint: '"user"'
          properties:
            team: .name
            memberCount: .members | length
            item: .item
)");
    auto const result = map_one(processor, "team",
                                R"({"name":"core","item":"kept","members":[{"login":"ann","active":true},)"
                                R"({"login":"bob","active":false},{"login":"cid","active":true}]})");

    BOOST_TEST_REQUIRE(result.passed.size() == 2u);
    BOOST_TEST(result.passed[0].identifier == json::value("ann"));
    BOOST_TEST(result.passed[1].identifier == json::value("cid"));
    BOOST_TEST(result.passed[0].properties.at("team") == json::value("core"));
    // With the transform off the parent keeps its array, and `item` is an ordinary key.
    BOOST_TEST(result.passed[0].properties.at("memberCount") == json::value(3));
    BOOST_TEST(result.passed[0].properties.at("item") == json::value("kept"));
}

BOOST_AUTO_TEST_CASE(environment_access_switched_off)
{
    ::setenv("OCEAN_MAPPING_TEST_SECRET", "s3cret", 1);
    constexpr char const* config = R"(
resources:
  - kind: repo
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"repo"'
          properties:
            viaEnv: env.OCEAN_MAPPING_TEST_SECRET
            viaVariable: $ENV.OCEAN_MAPPING_TEST_SECRET
)";
    auto const open = make_processor(config);
    auto const closed = make_processor(config, {.allow_environment_access = false});
    auto const allowed = map_one(open, "repo", R"({"name":"api"})");
    auto const blocked = map_one(closed, "repo", R"({"name":"api"})");

    BOOST_TEST_REQUIRE(allowed.passed.size() == 1u);
    BOOST_TEST(allowed.passed[0].properties.at("viaEnv") == json::value("s3cret"));
    BOOST_TEST(allowed.passed[0].properties.at("viaVariable") == json::value("s3cret"));
    BOOST_TEST_REQUIRE(blocked.passed.size() == 1u);
    BOOST_TEST(blocked.passed[0].properties.at("viaEnv").is_null());
    BOOST_TEST(blocked.passed[0].properties.at("viaVariable").is_null());
}

BOOST_AUTO_TEST_CASE(compile_error_names_field)
{
    auto config = port_app_config::from_yaml(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"' }
)");
    config.resources[0].mappings["properties"] = json::object{{"url", ".a ==== "}};
    try {
        entity_processor processor(config);
        BOOST_FAIL("the processor compiled an invalid program");
    } catch (ocean::config_error const& e) {
        std::string const message = e.what();
        BOOST_TEST(message.starts_with(
            "resources[0].port.entity.mappings.properties.url: jq compile error: syntax error, unexpected =="));
    }
}

BOOST_AUTO_TEST_CASE(compile_error_names_selector)
{
    auto config = port_app_config::from_yaml(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"' }
  - kind: team
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"team"' }
)");
    struct case_row {
        char const* program;
        bool items_to_parse;
        char const* message_start;
    };
    std::vector<case_row> const rows = {
        {".a |", false, "resources[1].selector.query: jq compile error: syntax error, unexpected $end"},
        {"map(", true, "resources[1].port.itemsToParse: jq compile error: syntax error, unexpected $end"},
    };
    for (auto const& row : rows) {
        auto broken = config;
        if (row.items_to_parse)
            broken.resources[1].items_to_parse = row.program;
        else
            broken.resources[1].selector_query = row.program;
        try {
            entity_processor processor(broken);
            BOOST_FAIL("the processor compiled " << row.program);
        } catch (ocean::config_error const& e) {
            BOOST_TEST(std::string(e.what()).starts_with(row.message_start), e.what());
        }
    }
}

BOOST_AUTO_TEST_CASE(unknown_kind_yields_nothing)
{
    auto const processor = make_processor(issue_config);
    auto const result = map_one(processor, "pull_request", R"({"issue":{"id":1}})");

    BOOST_TEST(result.passed.empty());
    BOOST_TEST(result.failed.empty());
    BOOST_TEST(result.clean());
}

BOOST_AUTO_TEST_CASE(thread_pool_keeps_order)
{
    auto const config = port_app_config::from_yaml(R"(
resources:
  - kind: repo
    selector: { query: '.n % 7 != 0' }
    port:
      entity:
        mappings:
          identifier: '"r-" + (.n | tostring)'
          blueprint: '"repo"'
          properties: { double: .n * 2, strict: '.tags[]' }
  - kind: repo
    port:
      entity:
        mappings: { identifier: '"second-" + (.n | tostring)', blueprint: '"repo"' }
)");
    std::vector<json::value> items;
    for (int n = 0; n < 5000; ++n)
        items.push_back(json::object{{"n", n}});

    entity_processor const single(config);
    auto const expected = single.map("repo", items);
    ocean::mapping::parallel_entity_processor const parallel(config, 3);
    boost::asio::thread_pool pool(3);
    auto const actual = parallel.map(pool, "repo", items);
    pool.join();

    BOOST_TEST(parallel.concurrency() == 3u);
    BOOST_TEST_REQUIRE(actual.passed.size() == expected.passed.size());
    BOOST_TEST(actual.passed.size() == 5000u - 715u + 5000u);
    for (std::size_t i = 0; i < expected.passed.size(); ++i)
        BOOST_TEST_REQUIRE(actual.passed[i].to_json() == expected.passed[i].to_json());
    BOOST_TEST(actual.failed.size() == 715u);
    BOOST_TEST_REQUIRE(actual.misconfigured.size() == expected.misconfigured.size());
    for (std::size_t i = 0; i < expected.misconfigured.size(); ++i)
        BOOST_TEST_REQUIRE(actual.misconfigured[i].item == expected.misconfigured[i].item);
    BOOST_TEST(actual.misconfigured.back().item == 4999u);
}

BOOST_AUTO_TEST_CASE(native_evaluation_matches_jq)
{
    std::vector<std::string> const programs = {
        ".a", ".a.b", "\"k\"", ".\"a\"", ".", ".a // \"d\"", ".a.b // .c", ".a // .b // \"z\"", ".a == 1", ".a != null",
        ".a == .b", ".a and .b", ".a or .b", "(.a == 1) | not", ".a | not", ".x.y == 1", ".a == 1 and .b.c",
        "false and .a.b.c", "true or .a.b", ".a.b == .a.c", "(.a // .b) == 1", ".a == {\"b\": false}", "null",
        ".a == [1]", ".b == \"s\" or .c == 3",
    };
    std::vector<std::string> const inputs = {
        R"({"a":1,"b":1})",
        R"({"a":null})",
        R"({"a":"s","b":[1]})",
        R"({"a":{"b":false},"c":3})",
        R"({"a":false,"b":true})",
        R"({})",
        R"({"x":"str"})",
        R"({"a":[1.0],"b":"s"})",
        R"({"a":1.0,"b":1})",
        R"([1,2])",
    };

    json::object properties;
    for (std::size_t i = 0; i < programs.size(); ++i)
        properties["p" + std::to_string(i)] = programs[i];
    auto config = port_app_config::from_yaml(R"(
resources:
  - kind: k
    port:
      entity:
        mappings: { identifier: '"id"', blueprint: '"b"' }
)");
    config.resources[0].mappings["properties"] = properties;

    entity_processor const native(config);
    entity_processor const jq_only(config, {.native_evaluation = false});
    for (auto const& input : inputs) {
        auto const expected = map_one(jq_only, "k", input);
        auto const actual = map_one(native, "k", input);

        BOOST_TEST_REQUIRE(expected.passed.size() == 1u);
        BOOST_TEST_REQUIRE(actual.passed.size() == 1u);
        for (std::size_t i = 0; i < programs.size(); ++i) {
            BOOST_TEST_CONTEXT("program " << programs[i] << " on " << input)
            {
                auto const key = "p" + std::to_string(i);
                auto const& got = actual.passed[0].properties.at(key);
                auto const& want = expected.passed[0].properties.at(key);
                BOOST_TEST(same_json(got, want), json::serialize(got) << " != " << json::serialize(want));
            }
        }
        BOOST_TEST_REQUIRE(actual.misconfigured.size() == expected.misconfigured.size());
        for (std::size_t i = 0; i < expected.misconfigured.size(); ++i) {
            BOOST_TEST_CONTEXT("misconfiguration " << i << " on " << input)
            {
                BOOST_TEST(actual.misconfigured[i].path == expected.misconfigured[i].path);
                BOOST_TEST(actual.misconfigured[i].message == expected.misconfigured[i].message);
            }
        }
    }
}
