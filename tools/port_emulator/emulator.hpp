// The emulator's HTTP face: Port's /v1 routes and the /_emulator inspection and fault routes,
// registered on the SDK's own http::server.
#pragma once

#include "store.hpp"
#include "traffic.hpp"

#include <ocean/http/request.hpp>
#include <ocean/http/response.hpp>
#include <ocean/http/router.hpp>

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <functional>
#include <optional>

namespace ocean::emulator {

struct emulator_options {
    store_options catalog;
    /// No rate limiting when empty.
    std::optional<rate_limit> limit;
    /// The file that keeps entities, blueprints and integrations across restarts; empty keeps them
    /// in memory only.
    std::filesystem::path state_file;
};

/// Serves one catalog. Not thread-safe: run the server's io_context on one thread.
class emulator {
public:
    explicit emulator(emulator_options options, clock_function clock = {});

    /// Registers every route on `router`; the emulator must outlive the router.
    void add_routes(http::router& router);

    /// Loads the state file when one is configured and exists. Throws std::runtime_error naming
    /// the file and what is wrong with it.
    void load_state();

    /// Writes the state file when one is configured, through a temporary file and a rename so a
    /// crash never leaves half a file. Logs and returns false when writing fails.
    bool save_state();

    store& catalog() noexcept { return store_; }

private:
    using api_handler = std::function<api_result(http::request const&)>;

    /// Registers a /v1 route whose handler runs behind the rate limit, the faults, the body
    /// limit and (when `needs_token`) the token check, and is logged.
    void add_port_route(http::router& router, std::string_view method, std::string_view path, api_handler handler,
                        bool needs_token = true);
    boost::asio::awaitable<http::response> serve_port(http::request const& request, api_handler const& handler,
                                                      bool needs_token);
    api_result run_checked(http::request const& request, api_handler const& handler, bool needs_token);
    void add_inspection_routes(http::router& router);
    void save_if_changed();

    emulator_options options_;
    clock_function clock_;
    store store_;
    fault_table faults_;
    std::optional<rate_limiter> limiter_;
    request_log log_;
};

} // namespace ocean::emulator
