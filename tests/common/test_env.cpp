#include "common/test_env.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>

namespace ocean::test {

std::string required_env(char const* name)
{
    char const* value = std::getenv(name);
    BOOST_REQUIRE_MESSAGE(value != nullptr, name << " is not set; run the tests through CTest");
    return value;
}

std::uint16_t port_of(std::string const& ready_line)
{
    return static_cast<std::uint16_t>(std::stoul(ready_line.substr(ready_line.rfind(':') + 1)));
}

} // namespace ocean::test
