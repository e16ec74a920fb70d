#include <ocean/config.hpp>
#include <ocean/error.hpp>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

extern char** environ;

namespace ocean {
namespace {

std::string lower(std::string s)
{
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// camelCase and kebab-case YAML keys become the snake_case used by the environment form.
std::string snake_case(std::string_view key)
{
    std::string out;
    for (char c : key) {
        if (std::isupper(static_cast<unsigned char>(c))) {
            if (!out.empty() && out.back() != '_')
                out += '_';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            out += c == '-' ? '_' : c;
        }
    }
    return out;
}

// Flattens YAML maps into dotted snake_case keys: `port: {clientId: x}` gives `port.client_id`.
void flatten(YAML::Node const& node, std::string const& prefix, std::map<std::string, std::string>& out,
             std::map<std::string, std::string> const& environment)
{
    if (node.IsMap()) {
        for (auto const& item : node) {
            auto key = snake_case(item.first.as<std::string>());
            flatten(item.second, prefix.empty() ? key : prefix + "." + key, out, environment);
        }
        return;
    }
    if (!node.IsScalar())
        return;
    auto value = node.as<std::string>();
    static std::regex const from_env(R"(^\s*\{\{\s*from\s+env\s+([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$)");
    std::smatch match;
    if (std::regex_match(value, match, from_env)) {
        auto const it = environment.find(match[1].str());
        if (it == environment.end())
            return;
        value = it->second;
    }
    out[prefix] = std::move(value);
}

bool parse_bool(std::string const& key, std::string const& value)
{
    auto const v = lower(value);
    if (v == "true" || v == "1" || v == "yes")
        return true;
    if (v == "false" || v == "0" || v == "no")
        return false;
    throw config_error(key + ": expected true or false, got '" + value + "'");
}

std::string variable_of(std::string const& key)
{
    std::string out = "OCEAN__";
    for (char c : key)
        out += c == '.' ? std::string("__") : std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return out;
}

} // namespace

integration_config integration_config::from_values(std::map<std::string, std::string> const& environment,
                                                   std::optional<std::string> const& yaml)
{
    // Keys are dotted lower snake case without the OCEAN prefix: port.client_id, base_url, ...
    std::map<std::string, std::string> values;
    if (yaml) {
        try {
            auto const root = YAML::Load(*yaml);
            if (root && !root.IsNull() && !root.IsMap())
                throw config_error("config.yaml: expected a mapping at the top level");
            flatten(root, "", values, environment);
        } catch (YAML::Exception const& e) {
            throw config_error(std::string("config.yaml: invalid YAML: ") + e.what());
        }
    }
    for (auto const& [name, value] : environment) {
        if (!name.starts_with("OCEAN__"))
            continue;
        std::string key = lower(name.substr(7));
        for (std::size_t at = key.find("__"); at != std::string::npos; at = key.find("__", at + 1))
            key.replace(at, 2, ".");
        values[key] = value;
    }

    integration_config c;
    auto take = [&](std::string const& key, std::string& field) {
        if (auto const it = values.find(key); it != values.end())
            field = it->second;
    };
    take("port.client_id", c.port_client_id);
    take("port.client_secret", c.port_client_secret);
    take("port.base_url", c.port_base_url);
    take("port.ca_file", c.port_ca_file);
    if (auto const it = values.find("port.verify_ssl"); it != values.end())
        c.port_verify_tls = parse_bool("OCEAN__PORT__VERIFY_SSL", it->second);
    take("integration.identifier", c.integration_identifier);
    take("integration.type", c.integration_type);
    take("integration.version", c.integration_version);
    take("event_listener.type", c.event_listener_type);
    c.event_listener_type = [&] {
        std::string upper;
        for (char ch : c.event_listener_type)
            upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        return upper;
    }();
    take("resources_path", c.resources_path);
    if (auto const it = values.find("allow_environment_variables_jq_access"); it != values.end())
        c.allow_environment_variables_jq_access =
            parse_bool("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", it->second);

    for (auto const& [key, value] : values) {
        if (key.starts_with("integration.config."))
            c.integration_settings[key.substr(19)] = value;
    }

    if (auto const it = values.find("base_url"); it != values.end() && !it->second.empty()) {
        c.base_url = it->second;
    } else if (auto const legacy = values.find("integration.config.app_host");
               legacy != values.end() && !legacy->second.empty()) {
        spdlog::warn("OCEAN__INTEGRATION__CONFIG__APP_HOST is deprecated; set OCEAN__BASE_URL instead");
        c.base_url = legacy->second;
    }
    if (c.base_url)
        while (!c.base_url->empty() && c.base_url->back() == '/')
            c.base_url->pop_back();

    if (auto const it = environment.find("APPLICATION__HOST"); it != environment.end())
        c.application_host = it->second;
    if (auto const it = environment.find("APPLICATION__PORT"); it != environment.end()) {
        try {
            std::size_t used = 0;
            auto const port = std::stoul(it->second, &used);
            if (used != it->second.size() || port > 65535)
                throw std::out_of_range("port");
            c.application_port = static_cast<std::uint16_t>(port);
        } catch (std::exception const&) {
            throw config_error("APPLICATION__PORT: expected a port number 0-65535, got '" + it->second + "'");
        }
    }
    if (auto const it = environment.find("APPLICATION__LOG_LEVEL"); it != environment.end())
        c.log_level = lower(it->second);

    if (c.integration_type.empty())
        c.integration_type = "ocean-cpp";
    if (c.integration_identifier.empty())
        c.integration_identifier = "my-" + c.integration_type + "-integration";
    return c;
}

integration_config integration_config::from_environment()
{
    std::map<std::string, std::string> environment;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        std::string_view const text(*entry);
        auto const eq = text.find('=');
        if (eq != std::string_view::npos)
            environment.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
    std::optional<std::string> yaml;
    if (std::filesystem::exists("config.yaml")) {
        std::ifstream in("config.yaml");
        std::stringstream buffer;
        buffer << in.rdbuf();
        yaml = buffer.str();
    }
    return from_values(environment, yaml);
}

void integration_config::validate() const
{
    if (port_client_id.empty())
        throw config_error("missing Port client id: set " + variable_of("port.client_id"));
    if (port_client_secret.empty())
        throw config_error("missing Port client secret: set " + variable_of("port.client_secret"));
    if (!port_base_url.starts_with("http://") && !port_base_url.starts_with("https://"))
        throw config_error("OCEAN__PORT__BASE_URL: expected an http:// or https:// URL, got '" + port_base_url + "'");
    static char const* const listeners[] = {"POLLING", "ONCE", "WEBHOOKS_ONLY", "WEBHOOK"};
    if (std::find(std::begin(listeners), std::end(listeners), event_listener_type) == std::end(listeners))
        throw config_error("OCEAN__EVENT_LISTENER__TYPE: expected POLLING, ONCE, WEBHOOKS_ONLY or WEBHOOK, got '" +
                           event_listener_type + "'");
}

} // namespace ocean
