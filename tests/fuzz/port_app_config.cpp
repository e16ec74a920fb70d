// Fuzzes the port-app-config loader: the first byte picks YAML or JSON, the rest is the
// document. A document that loads must survive the round trip through to_json() and from_json(),
// and its jq programs must compile into an entity_processor.
#include "fuzz_support.hpp"

#include <ocean/error.hpp>
#include <ocean/mapping/entity_processor.hpp>
#include <ocean/mapping/port_app_config.hpp>

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    ocean::fuzz::quiet_logging();
    if (size == 0)
        return 0;
    bool const as_yaml = (data[0] & 1) == 0;
    std::string_view const text(reinterpret_cast<char const*>(data) + 1, size - 1);

    std::optional<ocean::mapping::port_app_config> config;
    try {
        if (as_yaml) {
            config = ocean::mapping::port_app_config::from_yaml(text);
        } else {
            boost::system::error_code ec;
            auto const document = boost::json::parse(text, ec);
            if (ec)
                return 0;
            config = ocean::mapping::port_app_config::from_json(document);
        }
    } catch (ocean::config_error const&) {
        return 0;
    }

    // The JSON form that Port stores must load again: a config_error here is a finding.
    auto const again = ocean::mapping::port_app_config::from_json(config->to_json());
    (void)again.resources_of("repository");
    ocean::mapping::entity_processor const processor(std::move(*config));
    return 0;
}
