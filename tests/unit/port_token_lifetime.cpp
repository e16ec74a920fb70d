// The token lifetime read from `expiresIn` in Port's auth response, for valid and hostile values.
#define BOOST_TEST_MODULE port_token_lifetime
#include <boost/test/unit_test.hpp>

#include "../../src/port/token_lifetime.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <limits>

using namespace std::chrono_literals;
using ocean::detail::token_lifetime;

namespace {

std::chrono::milliseconds lifetime_of(boost::json::value const& expires_in)
{
    return token_lifetime(&expires_in);
}

} // namespace

BOOST_AUTO_TEST_CASE(missing_expires_in_is_three_hours)
{
    BOOST_TEST(token_lifetime(nullptr).count() == std::chrono::milliseconds(3h).count());
}

BOOST_AUTO_TEST_CASE(valid_expires_in_is_kept)
{
    BOOST_TEST(lifetime_of(10'800).count() == 10'800'000);
    BOOST_TEST(lifetime_of(std::uint64_t{60}).count() == 60'000);
    BOOST_TEST(lifetime_of(1.5).count() == 1'500);
    BOOST_TEST(lifetime_of(86'400).count() == 86'400'000);
}

BOOST_AUTO_TEST_CASE(huge_expires_in_is_one_day)
{
    for (auto const& value : {boost::json::value(86'401), boost::json::value(1e300),
                              boost::json::value(std::numeric_limits<std::int64_t>::max()),
                              boost::json::value(std::numeric_limits<std::uint64_t>::max())}) {
        BOOST_TEST_INFO("expiresIn " << value);
        BOOST_TEST(lifetime_of(value).count() == std::chrono::milliseconds(24h).count());
    }
}

BOOST_AUTO_TEST_CASE(invalid_expires_in_is_one_minute)
{
    for (auto const& value : {boost::json::value(0), boost::json::value(-5), boost::json::value(-1e300),
                              boost::json::value(std::numeric_limits<std::int64_t>::min()),
                              boost::json::value("3600"), boost::json::value(nullptr), boost::json::value(true)}) {
        BOOST_TEST_INFO("expiresIn " << value);
        BOOST_TEST(lifetime_of(value).count() == 60'000);
    }
}

BOOST_AUTO_TEST_CASE(tiny_expires_in_is_one_millisecond)
{
    BOOST_TEST(lifetime_of(1e-9).count() == 1);
}
