// Error codes of ocean-cpp: expected failures travel as boost::system::error_code.
#pragma once

#include <boost/system/error_code.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

namespace ocean {

/// Expected failures of SDK operations. An HTTP status is data in a result, never one of these.
enum class error {
    /// A configuration value is missing or invalid; the message names the key.
    invalid_config = 1,
    /// A JSON document could not be parsed.
    invalid_json,
    /// A jq program failed to compile or to run.
    jq_error,
    /// Port rejected the request (a 4xx other than 401, 408 and 429); not retried.
    port_rejected,
    /// Port kept failing after every retry the policy allowed.
    port_unavailable,
    /// Authentication against Port failed (bad client id or secret).
    port_auth_failed,
    /// A URL could not be parsed or uses an unsupported scheme.
    invalid_url,
    /// The operation did not finish within its deadline.
    timeout,
    /// The peer sent a response that violates HTTP or the expected JSON shape.
    protocol_error,
    /// A resource kind has no mapping in the port-app-config.
    unknown_kind,
    /// The integration is stopping and takes no new work.
    stopping,
    /// A retry budget (attempts or total time) was used up.
    retries_exhausted,
};

/// Returns the category of ocean::error, named "ocean".
boost::system::error_category const& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// An exception for configuration errors found at load time; what() names the key or path.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace ocean

template <>
struct boost::system::is_error_code_enum<ocean::error> : std::true_type {};
