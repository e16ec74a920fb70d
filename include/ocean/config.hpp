// Integration configuration from OCEAN__* environment variables, config.yaml and .port/spec.yaml.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ocean {

/// One entry of `configurations` in `.port/spec.yaml`: a setting of the integration itself.
struct setting_spec {
    /// camelCase name as written in the spec (`jiraHost`).
    std::string name;
    /// string, integer, boolean, object, array or url.
    std::string type = "string";
    bool required = false;
    /// Used when no value is given; null when the spec has none.
    boost::json::value default_value;
    /// The value is masked wherever the SDK prints settings.
    bool sensitive = false;
    std::string description;

    /// Returns the lower snake case key of `integration_settings` (`jira_host`).
    std::string key() const;
    /// Returns the variable that sets it (`OCEAN__INTEGRATION__CONFIG__JIRA_HOST`).
    std::string variable() const;
};

/// Parses the `configurations` of a spec document (YAML or JSON text). Throws ocean::config_error
/// naming the entry when a name is missing or a type is not one of the six above.
std::vector<setting_spec> parse_setting_specs(std::string const& spec_text);

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
    /// OCEAN__INTEGRATION__CONFIG__<NAME> values, keyed by lower snake case (`jira_host`). Settings
    /// declared in spec.yaml hold their typed value (integer, boolean, object, ...); undeclared
    /// ones are strings.
    boost::json::object integration_settings;
    /// The `configurations` of spec.yaml, empty without a spec.
    std::vector<setting_spec> declared_settings;
    /// Keys of integration_settings whose values must never be printed.
    std::set<std::string> sensitive_settings;

    /// POLLING (default), ONCE, WEBHOOKS_ONLY or WEBHOOK.
    std::string event_listener_type = "POLLING";
    /// POLLING: time between two reads of Port's resync request (OCEAN__EVENT_LISTENER__INTERVAL,
    /// in seconds).
    std::chrono::milliseconds polling_interval{60'000};
    /// POLLING: resync once when the listener starts (OCEAN__EVENT_LISTENER__RESYNC_ON_START).
    bool resync_on_start = true;
    /// The public URL of this integration (OCEAN__BASE_URL), used to register webhooks.
    std::optional<std::string> base_url;
    /// Folder with port-app-config.yml and blueprints.json.
    std::string resources_path = ".port/resources";
    /// Create the blueprints of blueprints.json when Port reports the integration's resources as
    /// not initialised (OCEAN__INITIALIZE_PORT_RESOURCES).
    bool initialize_port_resources = true;
    bool allow_environment_variables_jq_access = true;
    /// Kinds a resync extracts and writes at the same time (OCEAN__RESYNC_KIND_CONCURRENCY).
    std::size_t resync_kind_concurrency = 2;
    /// The time stop() lets in-flight requests and live events finish before cancelling them
    /// (OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN, in seconds).
    std::chrono::milliseconds shutdown_timeout{5'000};

    // HTTP server
    std::string application_host = "0.0.0.0";
    std::uint16_t application_port = 8000;
    std::string log_level = "info";

    /// Returns the public URL when one is configured; without it, third-party webhook
    /// registration is skipped.
    std::optional<std::string> const& app_host() const noexcept { return base_url; }

    /// Reads the process environment, `./config.yaml` when present and the spec next to the
    /// resources folder (`.port/spec.yaml` by default; spec.yml and spec.json are accepted too).
    /// Throws ocean::config_error naming the key and the variable to set.
    static integration_config from_environment();

    /// Reads the given variables, optional config.yaml text and optional spec text (YAML or
    /// JSON); for tests and embedding. Settings declared in the spec are converted to their type
    /// and checked: a missing required one or a value of the wrong type throws
    /// ocean::config_error naming the setting and its variable, without the value when the
    /// setting is sensitive.
    static integration_config from_values(std::map<std::string, std::string> const& environment,
                                          std::optional<std::string> const& yaml = std::nullopt,
                                          std::optional<std::string> const& spec = std::nullopt);

    /// Throws ocean::config_error when a required value is missing, naming the variable to set.
    void validate() const;

    /// Returns the integration settings for logging, with sensitive values replaced by `****`.
    boost::json::object loggable_settings() const;
};

} // namespace ocean
