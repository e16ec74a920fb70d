// The lifetime of a Port access token, read from the `expiresIn` field of the auth response.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>

namespace ocean::detail {

/// Lifetime assumed when the auth response has no `expiresIn`: Port's tokens live 3 hours.
inline constexpr std::chrono::milliseconds default_token_lifetime = std::chrono::hours(3);
/// Maximum lifetime trusted; a larger `expiresIn` is cut to it, so the token is refreshed daily.
inline constexpr std::chrono::milliseconds max_token_lifetime = std::chrono::hours(24);
/// Lifetime used when `expiresIn` is invalid (not a number, not finite, zero or negative). It is
/// short, so a token whose real expiry is unknown is soon fetched again.
inline constexpr std::chrono::milliseconds invalid_token_lifetime = std::chrono::seconds(60);

/// Converts `expires_in` (seconds, possibly fractional, or null when the field is missing) to a
/// lifetime within [1 ms, max_token_lifetime]. Logs a warning naming the value when it is
/// invalid or cut.
std::chrono::milliseconds token_lifetime(boost::json::value const* expires_in);

} // namespace ocean::detail
