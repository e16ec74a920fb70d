// The live-events pipeline: webhook routes, durable inbox, keyed workers, Port writes.
#pragma once

#include <ocean/http/router.hpp>
#include <ocean/live_events/webhook_processor.hpp>
#include <ocean/mapping/port_app_config.hpp>
#include <ocean/port/client.hpp>
#include <ocean/retry.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ocean::live_events {

/// Settings of the pipeline. docs/LIVE_EVENTS.md describes each with its environment variable.
struct manager_options {
    /// The inbox log file. Empty selects memory-only mode: events accepted but not yet applied
    /// are lost when the process stops or crashes.
    std::filesystem::path inbox_path;
    /// Events accepted and not yet applied (dead letters not counted). Past it, 503 + Retry-After.
    std::size_t inbox_capacity = 10'000;
    /// The Retry-After value, in seconds, sent with 503.
    unsigned retry_after_seconds = 5;
    /// Workers: events with different ordering keys run in parallel up to this number.
    std::size_t workers = 4;
    /// The time a delivery id is remembered after its event was applied.
    std::chrono::seconds duplicate_window{24 * 3600};
    /// Headers searched for a delivery id when the processor names none, in this order.
    std::vector<std::string> delivery_id_headers{"X-GitHub-Delivery", "webhook-id", "svix-id", "Idempotency-Key",
                                                 "X-Gitlab-Event-UUID", "X-Webhook-Id"};
    /// Retries of handle_event when the processor gives no policy of its own.
    retry_policy handler_retry = [] {
        retry_policy p;
        p.max_attempts = 4;
        p.initial_delay = std::chrono::milliseconds(1000);
        p.max_delay = std::chrono::milliseconds(30'000);
        p.total_budget = std::chrono::milliseconds(60'000);
        return p;
    }();
    /// Deadline for all handle_event calls of one event, retry delays included.
    std::chrono::milliseconds processing_deadline{90'000};
    /// Upserts and deletes arriving within this window go to Port together.
    std::chrono::milliseconds coalesce_window{20};
    /// A window is sent early once it holds this many entities.
    std::size_t coalesce_max_entities = 1000;
    /// Delay between attempts to resend a window after Port failed as a whole (network, 5xx past
    /// the Port client's own retries). Such a window is retried until it succeeds or stop().
    retry_policy port_retry = [] {
        retry_policy p;
        p.max_attempts = 0xffffffffu;
        p.initial_delay = std::chrono::milliseconds(500);
        p.max_delay = std::chrono::milliseconds(15'000);
        p.total_budget = std::chrono::milliseconds(0);
        return p;
    }();
    /// After stop(), how long in-flight events may take before they are cancelled and left in
    /// the inbox for the next start.
    std::chrono::milliseconds drain_timeout{10'000};
    /// Bearer token for the dead-letter admin routes; empty leaves those routes unregistered.
    std::string admin_token;
    /// Executor for blocking disk writes and fdatasync (for example a thread_pool's). nullopt runs
    /// them on the manager's strand, which blocks that io_context thread for each group commit.
    std::optional<boost::asio::any_io_executor> disk_executor;
    /// When above 0 and disk_executor is unset, the manager starts a thread pool of this size for
    /// disk writes.
    unsigned disk_threads = 0;

    /// Reads OCEAN__LIVE_EVENTS__* variables over the defaults. Throws ocean::config_error naming
    /// the variable when a value is invalid.
    static manager_options from_environment();
};

/// Serves webhook processors on routes under the group it is given, stores accepted events in
/// the inbox, and applies them to Port. start(), stop(), async_wait_stopped() and metrics_text()
/// may be called from any thread; add_processor() only before the server runs.
class processor_manager {
public:
    /// Registers the admin routes on `routes` (see docs/LIVE_EVENTS.md) and opens the inbox.
    /// Throws std::system_error when the inbox file cannot be opened or read. `port` must outlive
    /// this object.
    processor_manager(boost::asio::any_io_executor executor, port::client& port, http::route_group routes,
                      manager_options options);
    ~processor_manager();
    processor_manager(processor_manager const&) = delete;
    processor_manager& operator=(processor_manager const&) = delete;

    /// Adds `processor` on `path` (served at the group's prefix + path). The first processor on a
    /// path registers its POST route; call before the server runs.
    void add_processor(std::string const& path, std::shared_ptr<webhook_processor> processor);

    /// Starts the workers with `config`, a copy of the integration's port-app-config, and replays
    /// the events the inbox held. Events are accepted (and stored) before start(). Calling it
    /// again replaces the port-app-config for the events processed from then on.
    void start(mapping::port_app_config config);

    /// Stops: new deliveries get 503, in-flight events finish up to drain_timeout, the rest stay
    /// in the inbox. Completion of async_wait_stopped follows.
    void stop();

    /// Completes once stop() finished draining. Completion: void(error_code).
    template <class Token = default_token>
    auto async_wait_stopped(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code)>(
            std::forward<Token>(token), [this](auto h) { wait_stopped_impl(std::move(h)); });
    }

    /// Returns the metrics in Prometheus text format.
    std::string metrics_text() const;

    struct impl;

private:
    void wait_stopped_impl(boost::asio::any_completion_handler<void(boost::system::error_code)> h);

    std::shared_ptr<impl> impl_;
};

} // namespace ocean::live_events
