#include <ocean/error.hpp>

namespace ocean {
namespace {

class category final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "ocean"; }

    std::string message(int value) const override
    {
        switch (static_cast<error>(value)) {
        case error::invalid_config: return "invalid configuration";
        case error::invalid_json: return "invalid JSON";
        case error::jq_error: return "jq program failed";
        case error::port_rejected: return "Port rejected the request";
        case error::port_unavailable: return "Port is unavailable";
        case error::port_auth_failed: return "authentication with Port failed";
        case error::invalid_url: return "invalid URL";
        case error::timeout: return "operation timed out";
        case error::protocol_error: return "protocol error";
        case error::unknown_kind: return "kind not found in the port-app-config";
        case error::stopping: return "the integration is stopping";
        case error::retries_exhausted: return "retries exhausted";
        }
        return "unknown ocean error";
    }
};

} // namespace

boost::system::error_category const& error_category() noexcept
{
    static category const instance;
    return instance;
}

} // namespace ocean
