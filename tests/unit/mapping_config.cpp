// Unit tests of port_app_config: parsing YAML and JSON, defaults, errors with paths, to_json().
#include <ocean/error.hpp>
#include <ocean/mapping/port_app_config.hpp>

#define BOOST_TEST_MODULE mapping_config
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace json = boost::json;
using ocean::mapping::port_app_config;

namespace {

/// Returns the message of the config_error that parsing `yaml` throws, or "" when it parses.
std::string yaml_error(std::string const& yaml)
{
    try {
        port_app_config::from_yaml(yaml);
    } catch (ocean::config_error const& e) {
        return e.what();
    }
    return "";
}

std::string data_path(std::string const& name)
{
    char const* root = std::getenv("OCEAN_TEST_DATA");
    BOOST_TEST_REQUIRE(root != nullptr);
    return std::string(root) + "/mapping/" + name;
}

} // namespace

BOOST_AUTO_TEST_CASE(defaults_applied)
{
    auto const config = port_app_config::from_yaml(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"repo"'
)");
    BOOST_TEST(config.enable_merge_entity);
    BOOST_TEST(config.delete_dependent_entities);
    BOOST_TEST(config.create_missing_related_entities);
    BOOST_TEST(config.entity_deletion_threshold == 0.9);
    BOOST_TEST_REQUIRE(config.resources.size() == 1u);
    auto const& resource = config.resources[0];
    BOOST_TEST(resource.kind == "repo");
    BOOST_TEST(resource.selector_query == "true");
    BOOST_TEST(!resource.items_to_parse.has_value());
    BOOST_TEST(resource.items_to_parse_name == "item");
    BOOST_TEST(resource.items_to_parse_top_level_transform);
    BOOST_TEST(resource.mappings.at("identifier") == json::value(".name"));
    BOOST_TEST(resource.mappings.at("blueprint") == json::value("\"repo\""));
}

BOOST_AUTO_TEST_CASE(every_field_read)
{
    auto const config = port_app_config::from_yaml(R"(
enableMergeEntity: false
deleteDependentEntities: false
createMissingRelatedEntities: false
entityDeletionThreshold: 0.5
resources:
  - kind: repo
    selector: { query: .private | not }
    port:
      itemsToParse: .files
      itemsToParseName: file
      itemsToParseTopLevelTransform: false
      entity:
        mappings:
          identifier: .file.path
          title: .file.name
          icon: '"Git"'
          blueprint: '"file"'
          team: .owner.team
          properties: { size: .file.size, stars: 5, archived: true }
          relations: { repo: .name }
  - kind: team
    port:
      entity:
        mappings: { identifier: .slug, blueprint: '"team"' }
)");
    BOOST_TEST(!config.enable_merge_entity);
    BOOST_TEST(!config.delete_dependent_entities);
    BOOST_TEST(!config.create_missing_related_entities);
    BOOST_TEST(config.entity_deletion_threshold == 0.5);
    BOOST_TEST_REQUIRE(config.resources.size() == 2u);
    auto const& resource = config.resources[0];
    BOOST_TEST(resource.selector_query == ".private | not");
    BOOST_TEST(resource.items_to_parse.value() == ".files");
    BOOST_TEST(resource.items_to_parse_name == "file");
    BOOST_TEST(!resource.items_to_parse_top_level_transform);
    BOOST_TEST(resource.mappings.at("icon") == json::value("\"Git\""));
    BOOST_TEST(resource.mappings.at("team") == json::value(".owner.team"));
    // Unquoted YAML numbers and booleans become the jq constants they spell.
    BOOST_TEST(resource.mappings.at("properties").at("stars") == json::value("5"));
    BOOST_TEST(resource.mappings.at("properties").at("archived") == json::value("true"));
    BOOST_TEST(resource.mappings.at("relations").at("repo") == json::value(".name"));

    auto const kinds = config.resources_of("team");
    BOOST_TEST_REQUIRE(kinds.size() == 1u);
    BOOST_TEST(kinds[0] == &config.resources[1]);
    BOOST_TEST(config.resources_of("nothing").empty());
}

BOOST_AUTO_TEST_CASE(to_json_round_trips)
{
    auto const config = port_app_config::from_yaml(R"(
entityDeletionThreshold: 0.25
resources:
  - kind: label
    selector: { query: '.item.name != null' }
    port:
      itemsToParse: .labels
      entity:
        mappings:
          identifier: { combinator: '"and"', rules: [ { property: '"$title"', operator: '"="', value: .item.name } ] }
          blueprint: '"label"'
          properties: { color: .item.color }
)");
    auto const document = config.to_json();
    auto const expected = json::parse(R"({
        "enableMergeEntity": true, "deleteDependentEntities": true, "createMissingRelatedEntities": true,
        "entityDeletionThreshold": 0.25,
        "resources": [{
            "kind": "label",
            "selector": {"query": ".item.name != null"},
            "port": {
                "entity": {"mappings": {
                    "identifier": {"combinator": "\"and\"",
                                   "rules": [{"property": "\"$title\"", "operator": "\"=\"", "value": ".item.name"}]},
                    "blueprint": "\"label\"",
                    "properties": {"color": ".item.color"},
                    "relations": {}}},
                "itemsToParse": ".labels", "itemsToParseName": "item", "itemsToParseTopLevelTransform": true}}]})");
    BOOST_TEST(json::value(document) == expected);

    auto const again = port_app_config::from_json(document);
    BOOST_TEST(json::value(again.to_json()) == expected);
}

BOOST_AUTO_TEST_CASE(errors_name_field_path)
{
    struct case_row {
        char const* yaml;
        char const* message;
    };
    std::vector<case_row> const rows = {
        {"resources: {}", "resources: expected an array, got object"},
        {"entityDeletionThreshold: 1.5", "entityDeletionThreshold: must be between 0 and 1, got 1.5"},
        {"entityDeletionThreshold: high", "entityDeletionThreshold: expected a number, got string"},
        {"enableMergeEntity: maybe", "enableMergeEntity: expected a boolean, got string"},
        {"resources: [ { port: { entity: { mappings: { identifier: .a, blueprint: '\"b\"' } } } } ]",
         "resources[0].kind: missing"},
        {"resources: [ { kind: a } ]", "resources[0].port: missing"},
        {"resources: [ { kind: a, port: { entity: { mappings: { identifier: .a, blueprint: '\"b\"' } } } },"
         "             { kind: b, port: { entity: { mappings: { identifier: .a } } } } ]",
         "resources[1].port.entity.mappings.blueprint: missing (every entity needs a blueprint)"},
        {"resources: [ { kind: a, port: { entity: { mappings: { identifier: .a, blueprint: [1] } } } } ]",
         "resources[0].port.entity.mappings.blueprint: expected a jq program (string), got array"},
        {"resources: [ { kind: a, port: { entity: { mappings: { identifier: .a, blueprint: '\"b\"',"
         "  properties: { url: { x: 1 } } } } } } ]",
         "resources[0].port.entity.mappings.properties.url: expected a jq program (string), got object"},
        {"resources: [ { kind: a, port: { entity: { mappings: { identifier: { rules: [] }, blueprint: '\"b\"' } } } } ]",
         "resources[0].port.entity.mappings.identifier.combinator: missing (a search query needs a combinator and "
         "rules)"},
        {"resources: [ { kind: a, port: { entity: { mappings: { identifier: { combinator: '\"and\"', rules: [ { "
         "property: '\"p\"', operator: '\"=\"' } ] }, blueprint: '\"b\"' } } } } ]",
         "resources[0].port.entity.mappings.identifier.rules[0].value: missing"},
        {"resources: [ { kind: a, port: { itemsToParseName: '', entity: { mappings: { identifier: .a, "
         "blueprint: '\"b\"' } } } } ]",
         "resources[0].port.itemsToParseName: must not be empty"},
        {"resources: [ { kind: a, selector: 'true', port: { entity: { mappings: { identifier: .a, "
         "blueprint: '\"b\"' } } } } ]",
         "resources[0].selector: expected an object, got string"},
        {"[1, 2]", "port-app-config: expected an object, got array"},
    };
    for (auto const& row : rows) {
        BOOST_TEST_CONTEXT(row.yaml)
        {
            BOOST_TEST(yaml_error(row.yaml) == row.message);
        }
    }
}

BOOST_AUTO_TEST_CASE(jq_compile_error_at_load)
{
    auto const message = yaml_error(R"(
resources:
  - kind: repo
    selector: { query: '.a ==== 1' }
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"' }
)");
    BOOST_TEST(message.starts_with("resources[0].selector.query: jq compile error: syntax error, unexpected =="));

    auto const undefined = yaml_error(R"(
resources:
  - kind: repo
    port:
      entity:
        mappings: { identifier: .name, blueprint: '"repo"', properties: { x: nosuchfunction(1) } }
)");
    BOOST_TEST(undefined.starts_with("resources[0].port.entity.mappings.properties.x: jq compile error: "));
    BOOST_TEST(undefined.find("nosuchfunction/1 is not defined") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_yaml_reports_line)
{
    auto const message = yaml_error("resources:\n  - kind: [unclosed\n");
    BOOST_TEST(message.starts_with("invalid YAML at line "));

    // A sequence used as a mapping key parses as YAML but has no JSON form.
    auto const complex_key = yaml_error("resources:\n  - ? [a, b]\n    : 1\n");
    BOOST_TEST(complex_key.starts_with("invalid YAML at line 2"), complex_key);
}

BOOST_AUTO_TEST_CASE(json_form_parsed)
{
    auto const config = port_app_config::from_json(json::parse(R"({
        "deleteDependentEntities": false,
        "resources": [{"kind": "repo", "selector": {"query": "true"},
                       "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": "\"repo\""}}}}]})"));
    BOOST_TEST(!config.delete_dependent_entities);
    BOOST_TEST_REQUIRE(config.resources.size() == 1u);
    BOOST_TEST(config.resources[0].mappings.at("identifier") == json::value(".id"));
}

BOOST_AUTO_TEST_CASE(load_file_names_file)
{
    auto const config = port_app_config::load_file(data_path("repos.yml"));
    BOOST_TEST_REQUIRE(config.resources.size() == 1u);
    BOOST_TEST(config.resources[0].kind == "repository");

    auto const same = port_app_config::load_file(data_path("repos.json"));
    BOOST_TEST(json::value(same.to_json()) == json::value(config.to_json()));

    auto const bad = data_path("invalid-blueprint.yml");
    try {
        port_app_config::load_file(bad);
        BOOST_FAIL("an invalid file loaded");
    } catch (ocean::config_error const& e) {
        BOOST_TEST(std::string(e.what()) ==
                   bad + ": resources[0].port.entity.mappings.blueprint: jq compile error: "
                         "syntax error, unexpected $end (Unix shell quoting issues?) at <top-level>, line 1");
    }

    try {
        port_app_config::load_file(data_path("no-such-file.yml"));
        BOOST_FAIL("a missing file loaded");
    } catch (ocean::config_error const& e) {
        BOOST_TEST(std::string(e.what()).ends_with("no-such-file.yml: cannot open the file for reading"));
    }

    auto const text_path = std::filesystem::temp_directory_path() / "ocean-mapping-config.txt";
    std::ofstream(text_path) << "resources: []\n";
    try {
        port_app_config::load_file(text_path.string());
        BOOST_FAIL("a .txt file loaded");
    } catch (ocean::config_error const& e) {
        BOOST_TEST(std::string(e.what()).ends_with("unsupported file extension (expected .yml, .yaml or .json)"));
    }
    std::filesystem::remove(text_path);
}
