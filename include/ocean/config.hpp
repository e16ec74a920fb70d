// Integration configuration from OCEAN__* environment variables and config.yaml.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace ocean {

/// The settings of one integration, with Port Ocean's names and defaults. Environment variables
/// use the `OCEAN__` prefix and `__` for nesting (`OCEAN__PORT__CLIENT_ID`); a `config.yaml` may
/// give the same keys in camelCase, and a value `{{ from env NAME }}` there is read from NAME.
/// The environment wins over the file.
struct integration_config {
    // Port
    std::string port_client_id;
    /// Never logged.
    std::string port_client_secret;
    std::string port_base_url = "https://api.getport.io";
    /// Verify Port's TLS certificate (OCEAN__PORT__VERIFY_SSL); off only for local testing.
    bool port_verify_tls = true;
    /// Extra CA bundle for Port's certificate (OCEAN__PORT__CA_FILE).
    std::string port_ca_file;

    // Integration
    std::string integration_identifier;
    std::string integration_type;
    std::string integration_version = "0.1.0";
    /// OCEAN__INTEGRATION__CONFIG__<NAME> values, keyed by lower snake case (`jira_host`).
    boost::json::object integration_settings;

    /// POLLING (default), ONCE, WEBHOOKS_ONLY or WEBHOOK.
    std::string event_listener_type = "POLLING";
    /// The public URL of this integration (OCEAN__BASE_URL), used to register webhooks.
    std::optional<std::string> base_url;
    /// Folder with port-app-config.yml and blueprints.json.
    std::string resources_path = ".port/resources";
    bool allow_environment_variables_jq_access = true;

    // HTTP server
    std::string application_host = "0.0.0.0";
    std::uint16_t application_port = 8000;
    std::string log_level = "info";

    /// Returns the public URL when one is configured; without it, third-party webhook
    /// registration is skipped.
    std::optional<std::string> const& app_host() const noexcept { return base_url; }

    /// Reads the process environment and `./config.yaml` when present. Throws ocean::config_error
    /// naming the key and the variable to set.
    static integration_config from_environment();

    /// Reads the given variables and optional YAML text; for tests and embedding.
    static integration_config from_values(std::map<std::string, std::string> const& environment,
                                          std::optional<std::string> const& yaml = std::nullopt);

    /// Throws ocean::config_error when a required value is missing, naming the variable to set.
    void validate() const;
};

} // namespace ocean
