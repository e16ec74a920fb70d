#include "port/token_lifetime.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <cmath>

namespace ocean::detail {

std::chrono::milliseconds token_lifetime(boost::json::value const* expires_in)
{
    if (expires_in == nullptr)
        return default_token_lifetime;

    // Compared as a double before any conversion: casting a value beyond int64 to an integer
    // is undefined behaviour.
    double const seconds = expires_in->is_number() ? expires_in->to_number<double>() : std::nan("");
    if (!std::isfinite(seconds) || seconds <= 0) {
        spdlog::warn("Port auth: invalid expiresIn {} (expected a positive number of seconds); assuming the token "
                     "expires in {} s",
                     boost::json::serialize(*expires_in), invalid_token_lifetime.count() / 1000);
        return invalid_token_lifetime;
    }

    double const max_seconds = static_cast<double>(max_token_lifetime.count()) / 1000.0;
    if (seconds > max_seconds) {
        spdlog::warn("Port auth: expiresIn {} s exceeds {} s; the token is refreshed after {} s",
                     boost::json::serialize(*expires_in), max_seconds, max_seconds);
        return max_token_lifetime;
    }
    auto const milliseconds = static_cast<std::chrono::milliseconds::rep>(std::ceil(seconds * 1000.0));
    return std::chrono::milliseconds(milliseconds);
}

} // namespace ocean::detail
