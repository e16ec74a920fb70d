#define BOOST_TEST_MODULE lifecycle_config
#include <boost/test/unit_test.hpp>

#include <ocean/config.hpp>
#include <ocean/error.hpp>

#include <boost/json.hpp>

namespace json = boost::json;

namespace {

constexpr char const* spec = R"(title: Tracker
configurations:
  - name: serviceUrl
    type: url
    required: true
  - name: apiToken
    type: string
    required: true
    sensitive: true
  - name: pageSize
    type: integer
    default: 50
  - name: includeArchived
    type: boolean
    default: false
  - name: labels
    type: object
  - name: teams
    type: array
)";

std::map<std::string, std::string> base()
{
    return {{"OCEAN__PORT__CLIENT_ID", "id"},
            {"OCEAN__PORT__CLIENT_SECRET", "secret"},
            {"OCEAN__INTEGRATION__CONFIG__SERVICE_URL", "https://tracker.example.com/"},
            {"OCEAN__INTEGRATION__CONFIG__API_TOKEN", "tok-123456"}};
}

// Returns the message of the config_error that loading throws, or "" when it does not throw.
std::string load_error(std::map<std::string, std::string> const& environment,
                       std::optional<std::string> const& yaml = std::nullopt)
{
    try {
        ocean::integration_config::from_values(environment, yaml, spec);
    } catch (ocean::config_error const& e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_CASE(spec_values_take_their_types)
{
    auto environment = base();
    environment["OCEAN__INTEGRATION__CONFIG__PAGE_SIZE"] = "25";
    environment["OCEAN__INTEGRATION__CONFIG__INCLUDE_ARCHIVED"] = "true";
    environment["OCEAN__INTEGRATION__CONFIG__LABELS"] = R"({"team": "platform"})";
    environment["OCEAN__INTEGRATION__CONFIG__TEAMS"] = R"(["a", "b"])";
    auto const c = ocean::integration_config::from_values(environment, std::nullopt, spec);
    auto const& s = c.integration_settings;
    BOOST_TEST(s.at("service_url").as_string() == "https://tracker.example.com");
    BOOST_TEST(s.at("api_token").as_string() == "tok-123456");
    BOOST_TEST(s.at("page_size").as_int64() == 25);
    BOOST_TEST(s.at("include_archived").as_bool());
    BOOST_TEST(s.at("labels").as_object().at("team").as_string() == "platform");
    BOOST_TEST(s.at("teams").as_array().size() == 2U);
    BOOST_TEST(c.declared_settings.size() == 6U);
}

BOOST_AUTO_TEST_CASE(spec_defaults_fill_missing_values)
{
    auto const c = ocean::integration_config::from_values(base(), std::nullopt, spec);
    BOOST_TEST(c.integration_settings.at("page_size").as_int64() == 50);
    BOOST_TEST(c.integration_settings.at("include_archived").as_bool() == false);
    BOOST_TEST(!c.integration_settings.contains("labels"));
}

BOOST_AUTO_TEST_CASE(spec_missing_required_names_variable)
{
    auto environment = base();
    environment.erase("OCEAN__INTEGRATION__CONFIG__SERVICE_URL");
    auto const message = load_error(environment);
    BOOST_TEST(message.find("'serviceUrl'") != std::string::npos);
    BOOST_TEST(message.find("OCEAN__INTEGRATION__CONFIG__SERVICE_URL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(spec_wrong_type_names_variable)
{
    auto environment = base();
    environment["OCEAN__INTEGRATION__CONFIG__PAGE_SIZE"] = "many";
    auto message = load_error(environment);
    BOOST_TEST(message.find("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE") != std::string::npos);
    BOOST_TEST(message.find("integer") != std::string::npos);
    BOOST_TEST(message.find("'many'") != std::string::npos);

    environment = base();
    environment["OCEAN__INTEGRATION__CONFIG__SERVICE_URL"] = "tracker.example.com";
    BOOST_TEST(load_error(environment).find("http://") != std::string::npos);

    environment = base();
    environment["OCEAN__INTEGRATION__CONFIG__TEAMS"] = R"({"not": "a list"})";
    BOOST_TEST(load_error(environment).find("JSON array") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(spec_sensitive_value_never_printed)
{
    auto environment = base();
    auto const c = ocean::integration_config::from_values(environment, std::nullopt, spec);
    auto const logged = json::serialize(c.loggable_settings());
    BOOST_TEST(logged.find("tok-123456") == std::string::npos);
    BOOST_TEST(logged.find("****") != std::string::npos);
    BOOST_TEST(c.sensitive_settings.contains("api_token"));

    // An invalid sensitive value is not quoted in the error either.
    constexpr char const* secret_number = R"(configurations:
  - name: pin
    type: integer
    sensitive: true
)";
    try {
        ocean::integration_config::from_values({{"OCEAN__INTEGRATION__CONFIG__PIN", "hunter2"}}, std::nullopt,
                                               secret_number);
        BOOST_FAIL("a non-integer pin was accepted");
    } catch (ocean::config_error const& e) {
        BOOST_TEST(std::string(e.what()).find("hunter2") == std::string::npos);
        BOOST_TEST(std::string(e.what()).find("OCEAN__INTEGRATION__CONFIG__PIN") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(spec_values_from_config_yaml)
{
    auto environment = base();
    environment.erase("OCEAN__INTEGRATION__CONFIG__API_TOKEN");
    environment["TRACKER_TOKEN"] = "from-env";
    auto const yaml = R"(integration:
  config:
    apiToken: "{{ from env TRACKER_TOKEN }}"
    pageSize: 10
    teams: [red, blue]
)";
    auto const c = ocean::integration_config::from_values(environment, std::string(yaml), spec);
    BOOST_TEST(c.integration_settings.at("api_token").as_string() == "from-env");
    BOOST_TEST(c.integration_settings.at("page_size").as_int64() == 10);
    BOOST_TEST(c.integration_settings.at("teams").as_array().size() == 2U);
}

BOOST_AUTO_TEST_CASE(spec_unknown_type_rejected)
{
    constexpr char const* bad = R"(configurations:
  - name: ratio
    type: number
)";
    BOOST_CHECK_THROW(ocean::integration_config::from_values({}, std::nullopt, bad), ocean::config_error);
    try {
        ocean::integration_config::from_values({}, std::nullopt, bad);
    } catch (ocean::config_error const& e) {
        BOOST_TEST(std::string(e.what()).find("'ratio'") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(app_host_legacy_name_accepted)
{
    auto const modern = ocean::integration_config::from_values({{"OCEAN__BASE_URL", "https://ocean.example.com/"}});
    BOOST_REQUIRE(modern.app_host().has_value());
    BOOST_TEST(*modern.app_host() == "https://ocean.example.com");

    auto const legacy =
        ocean::integration_config::from_values({{"OCEAN__INTEGRATION__CONFIG__APP_HOST", "https://legacy.example.com"}});
    BOOST_REQUIRE(legacy.app_host().has_value());
    BOOST_TEST(*legacy.app_host() == "https://legacy.example.com");

    BOOST_TEST(!ocean::integration_config::from_values({}).app_host().has_value());
}

BOOST_AUTO_TEST_CASE(lifecycle_settings_parsed)
{
    auto const c = ocean::integration_config::from_values({{"OCEAN__EVENT_LISTENER__INTERVAL", "0.5"},
                                                           {"OCEAN__EVENT_LISTENER__RESYNC_ON_START", "false"},
                                                           {"OCEAN__RESYNC_KIND_CONCURRENCY", "4"},
                                                           {"OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "3"},
                                                           {"OCEAN__INITIALIZE_PORT_RESOURCES", "false"}});
    BOOST_TEST(c.polling_interval.count() == 500);
    BOOST_TEST(!c.resync_on_start);
    BOOST_TEST(c.resync_kind_concurrency == 4U);
    BOOST_TEST(c.shutdown_timeout.count() == 3000);
    BOOST_TEST(!c.initialize_port_resources);
    BOOST_CHECK_THROW(ocean::integration_config::from_values({{"OCEAN__RESYNC_KIND_CONCURRENCY", "0"}}),
                      ocean::config_error);
}
