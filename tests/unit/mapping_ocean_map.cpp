// Tests of the ocean-map tool: runs the built binary on the fixtures in tests/data/mapping.
#define BOOST_TEST_MODULE mapping_ocean_map
#include <boost/test/unit_test.hpp>

#include "common/run_command.hpp"

#include <cstdlib>
#include <string>

using ocean::test::run_command;
using ocean::test::shell_quote;

namespace {

std::string ocean_map()
{
    char const* path = std::getenv("OCEAN_MAP");
    BOOST_TEST_REQUIRE(path != nullptr, "OCEAN_MAP is not set; run the test through ctest");
    return shell_quote(path);
}

std::string fixture(std::string const& name)
{
    char const* root = std::getenv("OCEAN_TEST_DATA");
    BOOST_TEST_REQUIRE(root != nullptr, "OCEAN_TEST_DATA is not set; run the test through ctest");
    return shell_quote(std::string(root) + "/mapping/" + name);
}

/// The entities of the two unarchived repositories in repos.jsonl, in input order.
std::string const expected_repositories =
    R"({"identifier":"example-org/api","blueprint":"githubRepository","title":"api",)"
    R"("properties":{"url":"https://example.test/api","stars":12,"topics":["go","http"]},)"
    R"("relations":{"owner":"example-org"}})"
    "\n"
    R"({"identifier":"example-org/caf)"
    "\xC3\xA9"
    R"(","blueprint":"githubRepository","title":"caf)"
    "\xC3\xA9 \xF0\x9F\x9A\x80"
    R"(","properties":{"url":"https://example.test/cafe","stars":9223372036854775807,"topics":[]},)"
    R"("relations":{"owner":"example-org"}})"
    "\n";

} // namespace

BOOST_AUTO_TEST_CASE(valid_run_prints_entities)
{
    auto const result = run_command(ocean_map() + " --config " + fixture("repos.yml") + " " + fixture("repos.jsonl"));

    BOOST_TEST(result.exit_code == 0);
    BOOST_TEST(result.out == expected_repositories);
    BOOST_TEST(result.err == "");
}

BOOST_AUTO_TEST_CASE(stdin_and_json_config)
{
    auto const result = run_command(ocean_map() + " --config=" + fixture("repos.json") + " --kind repository - < " +
                                    fixture("repos.jsonl"));

    BOOST_TEST(result.exit_code == 0);
    BOOST_TEST(result.out == expected_repositories);
    BOOST_TEST(result.err == "");
}

BOOST_AUTO_TEST_CASE(every_kind_applied_in_order)
{
    auto const all = run_command(ocean_map() + " --config " + fixture("two-kinds.yml") + " " +
                                 fixture("repos-missing-url.json"));
    auto const owners = run_command(ocean_map() + " --config " + fixture("two-kinds.yml") + " --kind owner " +
                                    fixture("repos-missing-url.json"));

    std::string const repository_lines =
        R"({"identifier":"example-org/api","blueprint":"githubRepository","properties":{},"relations":{}})"
        "\n"
        R"({"identifier":"example-org/docs","blueprint":"githubRepository","properties":{},"relations":{}})"
        "\n";
    std::string const owner_lines =
        R"({"identifier":"example-org","blueprint":"githubUser","properties":{"repository":"example-org/api"},)"
        R"("relations":{}})"
        "\n"
        R"({"identifier":"example-org","blueprint":"githubUser","properties":{"repository":"example-org/docs"},)"
        R"("relations":{}})"
        "\n";
    BOOST_TEST(all.exit_code == 0);
    BOOST_TEST(all.out == repository_lines + owner_lines);
    BOOST_TEST(all.err == "");
    BOOST_TEST(owners.exit_code == 0);
    BOOST_TEST(owners.out == owner_lines);
}

BOOST_AUTO_TEST_CASE(misconfigured_field_exits_one)
{
    auto const result =
        run_command(ocean_map() + " --config " + fixture("repos.yml") + " " + fixture("repos-missing-url.json"));

    BOOST_TEST(result.exit_code == 1);
    BOOST_TEST(result.err == "ocean-map: kind \"repository\", item 1: properties.url: mapped to null\n");
    auto const second_line = result.out.substr(result.out.find('\n') + 1);
    BOOST_TEST(second_line == R"({"identifier":"example-org/docs","blueprint":"githubRepository","title":"docs",)"
                              R"("properties":{"url":null,"stars":3,"topics":["docs"]},)"
                              R"("relations":{"owner":"example-org"}})"
                              "\n");
}

BOOST_AUTO_TEST_CASE(invalid_config_exits_two)
{
    auto const config = fixture("invalid-blueprint.yml");
    auto const result = run_command(ocean_map() + " --config " + config + " " + fixture("repos.jsonl"));

    BOOST_TEST(result.exit_code == 2);
    BOOST_TEST(result.out == "");
    BOOST_TEST(result.err.find("invalid-blueprint.yml: resources[0].port.entity.mappings.blueprint: "
                               "jq compile error: syntax error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_arguments_exit_two)
{
    struct case_row {
        std::string arguments;
        std::string message;
    };
    std::vector<case_row> const rows = {
        {"", "ocean-map: missing --config PORT_APP_CONFIG\n"},
        {"--config", "ocean-map: --config requires a value\n"},
        {"--config " + fixture("repos.yml") + " --verbose", "ocean-map: unknown option '--verbose'\n"},
        {"--config " + fixture("repos.yml") + " --kind team", "ocean-map: --kind team: no resource of this kind in "},
        {"--config " + fixture("repos.yml") + " a.json b.json",
         "ocean-map: more than one INPUT given ('a.json' and 'b.json')\n"},
    };
    for (auto const& row : rows) {
        BOOST_TEST_CONTEXT(row.arguments)
        {
            auto const result = run_command(ocean_map() + " " + row.arguments);
            BOOST_TEST(result.exit_code == 2);
            BOOST_TEST(result.out == "");
            BOOST_TEST(result.err.starts_with(row.message));
            BOOST_TEST(result.err.ends_with("Try 'ocean-map --help' for usage.\n"));
        }
    }
}

BOOST_AUTO_TEST_CASE(invalid_input_exits_two)
{
    auto const result = run_command("printf '{\"a\":' | " + ocean_map() + " --config " + fixture("repos.yml"));

    BOOST_TEST(result.exit_code == 2);
    BOOST_TEST(result.out == "");
    BOOST_TEST(result.err == "ocean-map: stdin: invalid JSON at byte 5: incomplete JSON\n");
}

BOOST_AUTO_TEST_CASE(help_prints_usage)
{
    auto const result = run_command(ocean_map() + " --help");

    BOOST_TEST(result.exit_code == 0);
    BOOST_TEST(result.out.starts_with("Usage: ocean-map --config PORT_APP_CONFIG [--kind KIND] [INPUT]\n"));
    BOOST_TEST(result.out.find("Exit status: 0") != std::string::npos);
    BOOST_TEST(result.err == "");
}
