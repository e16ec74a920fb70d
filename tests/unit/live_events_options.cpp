#define BOOST_TEST_MODULE live_events_options
#include <boost/test/unit_test.hpp>

#include <ocean/error.hpp>
#include <ocean/live_events/processor_manager.hpp>

#include <cstdlib>

using ocean::live_events::manager_options;

namespace {

// Sets an environment variable for the lifetime of the object.
struct scoped_variable {
    scoped_variable(char const* name, char const* value) : name_(name) { ::setenv(name, value, 1); }
    ~scoped_variable() { ::unsetenv(name_); }
    char const* name_;
};

} // namespace

BOOST_AUTO_TEST_CASE(options_defaults_are_durable)
{
    auto const o = manager_options::from_environment();
    BOOST_TEST(o.inbox_path == ".ocean/live-events.inbox");
    BOOST_TEST(o.inbox_capacity == 10'000U);
    BOOST_TEST(o.workers == 4U);
    BOOST_TEST(o.admin_token.empty());
    BOOST_TEST(o.disk_threads == 0U);
}

BOOST_AUTO_TEST_CASE(options_read_environment)
{
    scoped_variable path("OCEAN__LIVE_EVENTS__INBOX_PATH", "/var/lib/ocean/inbox");
    scoped_variable workers("OCEAN__LIVE_EVENTS__WORKERS", "8");
    scoped_variable window("OCEAN__LIVE_EVENTS__DUPLICATE_WINDOW_SECONDS", "60");
    scoped_variable attempts("OCEAN__LIVE_EVENTS__HANDLER_MAX_ATTEMPTS", "2");
    auto const o = manager_options::from_environment();
    BOOST_TEST(o.inbox_path == "/var/lib/ocean/inbox");
    BOOST_TEST(o.workers == 8U);
    BOOST_TEST(o.duplicate_window.count() == 60);
    BOOST_TEST(o.handler_retry.max_attempts == 2U);
}

BOOST_AUTO_TEST_CASE(options_memory_only_clears_path)
{
    scoped_variable durable("OCEAN__LIVE_EVENTS__DURABLE", "false");
    BOOST_TEST(manager_options::from_environment().inbox_path.empty());
}

BOOST_AUTO_TEST_CASE(options_reject_invalid_values)
{
    {
        scoped_variable workers("OCEAN__LIVE_EVENTS__WORKERS", "0");
        BOOST_CHECK_THROW(manager_options::from_environment(), ocean::config_error);
    }
    {
        scoped_variable capacity("OCEAN__LIVE_EVENTS__INBOX_CAPACITY", "12x");
        BOOST_CHECK_THROW(manager_options::from_environment(), ocean::config_error);
    }
    {
        scoped_variable durable("OCEAN__LIVE_EVENTS__DURABLE", "maybe");
        BOOST_CHECK_THROW(manager_options::from_environment(), ocean::config_error);
    }
}
