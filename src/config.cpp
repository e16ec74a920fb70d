#include <ocean/config.hpp>
#include <ocean/error.hpp>

#include <boost/json.hpp>
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

// Converts YAML to JSON. Plain scalars that read as numbers, booleans or null keep that type;
// quoted scalars stay strings.
boost::json::value yaml_to_json(YAML::Node const& node)
{
    if (node.IsMap()) {
        boost::json::object out;
        for (auto const& item : node)
            out[item.first.as<std::string>()] = yaml_to_json(item.second);
        return out;
    }
    if (node.IsSequence()) {
        boost::json::array out;
        for (auto const& item : node)
            out.push_back(yaml_to_json(item));
        return out;
    }
    if (!node.IsScalar())
        return nullptr;
    auto const text = node.as<std::string>();
    if (node.Tag() == "!")
        return boost::json::string(text);
    if (text == "true" || text == "false")
        return text == "true";
    if (text == "null" || text == "~")
        return nullptr;
    boost::system::error_code ec;
    auto number = boost::json::parse(text, ec);
    if (!ec && number.is_number())
        return number;
    return boost::json::string(text);
}

// Flattens YAML maps into dotted snake_case keys: `port: {clientId: x}` gives `port.client_id`.
// An integration setting (`integration.config.<name>`) that is a map or a list is kept whole, as
// JSON text, the form its environment variable takes.
void flatten(YAML::Node const& node, std::string const& prefix, std::map<std::string, std::string>& out,
             std::map<std::string, std::string> const& environment)
{
    bool const setting = prefix.starts_with("integration.config.") &&
                         prefix.find('.', std::string_view("integration.config.").size()) == std::string::npos;
    if (setting && (node.IsMap() || node.IsSequence())) {
        out[prefix] = boost::json::serialize(yaml_to_json(node));
        return;
    }
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

std::string upper(std::string s)
{
    for (auto& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// Reads a non-negative number of seconds (fractions allowed) as milliseconds.
std::chrono::milliseconds parse_seconds(std::string const& variable, std::string const& value)
{
    try {
        std::size_t used = 0;
        auto const seconds = std::stod(value, &used);
        if (used != value.size() || seconds < 0)
            throw std::out_of_range("seconds");
        return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
    } catch (std::exception const&) {
        throw config_error(variable + ": expected a non-negative number of seconds, got '" + value + "'");
    }
}

std::size_t parse_count(std::string const& variable, std::string const& value)
{
    try {
        std::size_t used = 0;
        auto const count = std::stoul(value, &used);
        if (used != value.size() || count == 0)
            throw std::out_of_range("count");
        return count;
    } catch (std::exception const&) {
        throw config_error(variable + ": expected a positive integer, got '" + value + "'");
    }
}

// Converts the text of a declared setting to its spec type. Error messages quote the value,
// except for a sensitive setting.
boost::json::value convert_setting(setting_spec const& spec, std::string const& text)
{
    auto const quoted_value = spec.sensitive ? std::string("(sensitive value not shown)") : "'" + text + "'";
    auto wrong = [&](std::string_view expected) {
        return config_error("integration setting '" + spec.name + "' (" + spec.variable() + "): expected " +
                            std::string(expected) + ", got " + quoted_value);
    };
    if (spec.type == "string")
        return boost::json::string(text);
    if (spec.type == "url") {
        if (!text.starts_with("http://") && !text.starts_with("https://"))
            throw wrong("an http:// or https:// URL");
        auto url = text;
        while (url.back() == '/')
            url.pop_back();
        return boost::json::string(url);
    }
    if (spec.type == "integer") {
        try {
            std::size_t used = 0;
            auto const number = std::stoll(text, &used);
            if (used != text.size())
                throw std::invalid_argument("integer");
            return number;
        } catch (std::exception const&) {
            throw wrong("an integer");
        }
    }
    if (spec.type == "boolean") {
        auto const v = lower(text);
        if (v == "true" || v == "1" || v == "yes")
            return true;
        if (v == "false" || v == "0" || v == "no")
            return false;
        throw wrong("true or false");
    }
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    if (spec.type == "object") {
        if (ec || !parsed.is_object())
            throw wrong("a JSON object");
        return parsed;
    }
    if (ec || !parsed.is_array())
        throw wrong("a JSON array");
    return parsed;
}

// Checks a spec default against its type, so a bad spec fails at startup rather than later.
boost::json::value typed_default(setting_spec const& spec)
{
    auto const& d = spec.default_value;
    if (d.is_null())
        return nullptr;
    if (d.is_string())
        return convert_setting(spec, std::string(d.get_string()));
    bool const fits = (spec.type == "integer" && d.is_int64()) || (spec.type == "integer" && d.is_uint64()) ||
                      (spec.type == "boolean" && d.is_bool()) || (spec.type == "object" && d.is_object()) ||
                      (spec.type == "array" && d.is_array());
    if (!fits)
        throw config_error("spec.yaml: the default of configuration '" + spec.name + "' is not of type " + spec.type);
    return d;
}

std::optional<std::string> read_text_file(std::filesystem::path const& path)
{
    if (!std::filesystem::is_regular_file(path))
        return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

} // namespace

std::string setting_spec::key() const
{
    return snake_case(name);
}

std::string setting_spec::variable() const
{
    return "OCEAN__INTEGRATION__CONFIG__" + upper(key());
}

std::vector<setting_spec> parse_setting_specs(std::string const& spec_text)
{
    YAML::Node root;
    try {
        root = YAML::Load(spec_text);
    } catch (YAML::Exception const& e) {
        throw config_error(std::string("spec.yaml: invalid YAML: ") + e.what());
    }
    std::vector<setting_spec> specs;
    if (!root || !root.IsMap() || !root["configurations"] || root["configurations"].IsNull())
        return specs;
    auto const list = root["configurations"];
    if (!list.IsSequence())
        throw config_error("spec.yaml: \"configurations\" must be a list");
    static std::set<std::string> const types{"string", "integer", "boolean", "object", "array", "url"};
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto const entry = list[i];
        auto const where = "spec.yaml: configurations[" + std::to_string(i) + "]";
        if (!entry.IsMap() || !entry["name"] || !entry["name"].IsScalar() || entry["name"].as<std::string>().empty())
            throw config_error(where + ": \"name\" is missing");
        setting_spec spec;
        spec.name = entry["name"].as<std::string>();
        if (entry["type"])
            spec.type = entry["type"].as<std::string>();
        if (!types.contains(spec.type))
            throw config_error(where + " ('" + spec.name + "'): type must be string, integer, boolean, object, array or url, got '" +
                               spec.type + "'");
        auto flag = [&](char const* name) {
            if (!entry[name])
                return false;
            auto const v = lower(entry[name].as<std::string>());
            if (v != "true" && v != "false")
                throw config_error(where + " ('" + spec.name + "'): \"" + name + "\" must be true or false");
            return v == "true";
        };
        spec.required = flag("required");
        spec.sensitive = flag("sensitive");
        if (entry["default"])
            spec.default_value = yaml_to_json(entry["default"]);
        if (entry["description"] && entry["description"].IsScalar())
            spec.description = entry["description"].as<std::string>();
        specs.push_back(std::move(spec));
    }
    return specs;
}

integration_config integration_config::from_values(std::map<std::string, std::string> const& environment,
                                                   std::optional<std::string> const& yaml,
                                                   std::optional<std::string> const& spec)
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
    if (auto const it = values.find("initialize_port_resources"); it != values.end())
        c.initialize_port_resources = parse_bool("OCEAN__INITIALIZE_PORT_RESOURCES", it->second);
    if (auto const it = values.find("event_listener.interval"); it != values.end())
        c.polling_interval = parse_seconds("OCEAN__EVENT_LISTENER__INTERVAL", it->second);
    if (auto const it = values.find("event_listener.resync_on_start"); it != values.end())
        c.resync_on_start = parse_bool("OCEAN__EVENT_LISTENER__RESYNC_ON_START", it->second);
    if (auto const it = values.find("resync_kind_concurrency"); it != values.end())
        c.resync_kind_concurrency = parse_count("OCEAN__RESYNC_KIND_CONCURRENCY", it->second);
    if (auto const it = values.find("max_wait_seconds_before_shutdown"); it != values.end())
        c.shutdown_timeout = parse_seconds("OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", it->second);

    for (auto const& [key, value] : values) {
        if (key.starts_with("integration.config."))
            c.integration_settings[key.substr(19)] = value;
    }

    // Declared settings take their type; a required one without value or default stops startup.
    if (spec)
        c.declared_settings = parse_setting_specs(*spec);
    for (auto const& declared : c.declared_settings) {
        auto const key = declared.key();
        if (declared.sensitive)
            c.sensitive_settings.insert(key);
        auto* provided = c.integration_settings.if_contains(key);
        if (provided != nullptr && provided->is_string() && !provided->get_string().empty()) {
            c.integration_settings[key] = convert_setting(declared, std::string(provided->get_string()));
            continue;
        }
        auto fallback = typed_default(declared);
        if (!fallback.is_null()) {
            c.integration_settings[key] = std::move(fallback);
            continue;
        }
        if (declared.required)
            throw config_error("missing required integration setting '" + declared.name + "': set " +
                               declared.variable() + " (or integration.config." + declared.name + " in config.yaml)");
        c.integration_settings.erase(key);
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
    auto const yaml = read_text_file("config.yaml");

    // The spec sits next to the resources folder: .port/spec.yaml for .port/resources.
    auto resources = std::filesystem::path(".port/resources");
    if (auto const it = environment.find("OCEAN__RESOURCES_PATH"); it != environment.end() && !it->second.empty())
        resources = it->second;
    resources = resources.lexically_normal();
    if (resources.filename().empty())
        resources = resources.parent_path();
    std::optional<std::string> spec;
    for (char const* name : {"spec.yaml", "spec.yml", "spec.json"}) {
        auto const path = resources.parent_path() / name;
        if ((spec = read_text_file(path))) {
            spdlog::debug("read the integration spec from {}", path.string());
            break;
        }
    }
    return from_values(environment, yaml, spec);
}

boost::json::object integration_config::loggable_settings() const
{
    boost::json::object out;
    for (auto const& [key, value] : integration_settings)
        out[key] = sensitive_settings.contains(std::string(key)) ? boost::json::value("****") : value;
    return out;
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
