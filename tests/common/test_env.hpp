// Small helpers shared by the integration tests that start programs CTest points them to.
#pragma once

#include <cstdint>
#include <string>

namespace ocean::test {

/// Returns the environment variable `name`, which CTest sets (tests/CMakeLists.txt), and fails
/// the test with a message naming it when it is missing.
std::string required_env(char const* name);

/// Returns the port at the end of a ready line such as `... listening on 127.0.0.1:PORT`.
std::uint16_t port_of(std::string const& ready_line);

} // namespace ocean::test
