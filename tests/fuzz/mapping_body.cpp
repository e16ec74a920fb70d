// Fuzzes the mapping of a JSON request body through a fixed port-app-config, once with the
// native evaluator and once with every program in jq. The body is one item or an array of items,
// as a webhook handler would pass it to register_raw.
#include "fuzz_support.hpp"

#include <ocean/mapping/entity_processor.hpp>
#include <ocean/mapping/port_app_config.hpp>

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace {

// Covers the native evaluator's forms (paths, constants, ==, !=, and, or, //, not), jq-only
// programs, itemsToParse, and a search-query relation.
constexpr std::string_view mapping_yaml = R"yaml(
resources:
  - kind: repository
    selector:
      query: .archived == false and (.private // false | not)
    port:
      entity:
        mappings:
          identifier: .full_name
          title: .name // .full_name
          blueprint: '"githubRepository"'
          team: .owner.team
          properties:
            url: .html_url
            stars: .stargazers_count
            topics: '[.topics[]?]'
            language: .language != null
            size: .size | tostring
          relations:
            owner: .owner.login
            parent:
              combinator: '"and"'
              rules:
                - property: '"$identifier"'
                  operator: '"="'
                  value: .parent.full_name
  - kind: repository
    selector:
      query: 'true'
    port:
      itemsToParse: .pull_requests
      entity:
        mappings:
          identifier: .item.id | tostring
          title: .item.title
          blueprint: '"githubPullRequest"'
          properties:
            repository: .full_name
            labels: '[.item.labels[]?.name]'
)yaml";

struct processors {
    ocean::mapping::entity_processor native;
    ocean::mapping::entity_processor jq_only;

    processors()
        : native(ocean::mapping::port_app_config::from_yaml(mapping_yaml)),
          jq_only(ocean::mapping::port_app_config::from_yaml(mapping_yaml),
                  ocean::mapping::processor_options{.allow_environment_access = false, .native_evaluation = false})
    {
        ocean::fuzz::quiet_logging();
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    static processors const state;

    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 256;
    auto const body =
        boost::json::parse(std::string_view(reinterpret_cast<char const*>(data), size), ec, {}, options);
    if (ec)
        return 0;

    std::vector<boost::json::value> items;
    if (body.is_array())
        items.assign(body.get_array().begin(), body.get_array().end());
    else
        items.push_back(body);

    (void)state.native.map("repository", items);
    (void)state.jq_only.map("repository", items);
    return 0;
}
