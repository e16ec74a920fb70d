// The shared state behind ocean::integration, split over integration.cpp (startup, run, stop,
// data calls), lifecycle/resync.cpp (full resync and reconciliation) and lifecycle/listeners.cpp.
#pragma once

#include <ocean/integration.hpp>
#include <ocean/live_events/processor_manager.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace ocean {

/// Returns `time` as ISO 8601 UTC with milliseconds, the form Port's API uses.
std::string iso_time(std::chrono::system_clock::time_point time);

struct batch_sink::impl {
    impl(std::string k, boost::asio::any_io_executor ex) : kind(std::move(k)), channel(ex, 0) {}
    std::string kind;
    boost::asio::experimental::channel<void(boost::system::error_code, raw_batch)> channel;
};

struct integration::impl : std::enable_shared_from_this<impl> {
    impl(boost::asio::any_io_executor ex, integration_config cfg);

    struct resync_handler {
        /// Empty for a handler of every kind.
        std::string kind;
        resync_batch_handler batch;
        resync_stream_handler stream;
    };

    /// One resync in flight. A newer resync or stop() sets `cancel_requested` and cancels
    /// `cancel_timer`; waiters for the end wait on `done`, which is cancelled when it finishes.
    struct resync_run {
        explicit resync_run(boost::asio::any_io_executor ex)
            : cancel_timer(ex, boost::asio::steady_timer::time_point::max()),
              done(ex, boost::asio::steady_timer::time_point::max())
        {
        }
        boost::asio::steady_timer cancel_timer;
        boost::asio::steady_timer done;
        bool cancel_requested = false;
        bool finished = false;
        void cancel()
        {
            cancel_requested = true;
            cancel_timer.cancel();
        }
    };

    /// The state shared by the kinds of one resync: the next kind to take and the entity keys
    /// produced.
    struct resync_work {
        std::vector<std::string> kinds;
        std::vector<kind_result> results;
        std::size_t next = 0;
        /// `blueprint` + '\n' + `identifier` of every entity the resync produced.
        std::unordered_set<std::string> produced;
    };

    boost::asio::any_io_executor executor;
    // Everything of the integration runs here: a jq state serves one caller at a time.
    boost::asio::strand<boost::asio::any_io_executor> strand;
    integration_config config;
    http::server server;
    http::route_group routes;
    port::client port;
    std::vector<start_hook> hooks;
    std::optional<mapping::entity_processor> processor;
    std::unique_ptr<live_events::processor_manager> live_events;

    std::vector<resync_handler> resync_handlers;
    std::vector<resync_hook> resync_start_hooks;
    std::vector<resync_hook> resync_complete_hooks;
    std::shared_ptr<resync_run> current_resync;

    bool stopping = false;
    /// Cancelled by stop(); the event listener waits on it between polls.
    boost::asio::steady_timer stop_timer;

    // integration.cpp
    boost::asio::awaitable<void> provision();
    boost::asio::awaitable<void> initialize_resources();
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> wait_served(std::shared_ptr<boost::asio::steady_timer> served,
                                             std::shared_ptr<boost::system::error_code> serve_error);
    void begin_stop();
    boost::asio::awaitable<sync_result> register_raw(std::string kind, std::vector<boost::json::value> items);
    boost::asio::awaitable<sync_result> unregister_raw(std::string kind, std::vector<boost::json::value> items);
    boost::asio::awaitable<sync_result> register_ready_made(std::vector<port::entity> entities, bool upsert);
    mapping::mapping_result map(std::string const& kind, std::vector<boost::json::value> const& items,
                                sync_result& result);

    // lifecycle/resync.cpp
    /// Runs a full resync, cancelling any running one first. Kind failures do not throw; they set
    /// the result's status. Throws system_error(error::stopping) when the resync cannot start.
    boost::asio::awaitable<resync_result> sync_raw_all();
    boost::asio::awaitable<resync_result> guarded_resync(std::string start);
    boost::asio::awaitable<void> resync_body(resync_result& result, std::string const& start);
    boost::asio::awaitable<void> wait_cancel(std::shared_ptr<resync_run> run);
    boost::asio::awaitable<void> kind_worker(resync_work* work);
    boost::asio::awaitable<kind_result> resync_kind(std::string kind, resync_work* work);
    boost::asio::awaitable<void> write_batch(std::string const& kind, raw_batch items, kind_result& result,
                                             resync_work* work);
    boost::asio::awaitable<void> produce(resync_stream_handler const& handler, batch_sink::impl* sink);
    boost::asio::awaitable<void> consume(batch_sink::impl* sink, kind_result* result, resync_work* work);
    boost::asio::awaitable<void> reconcile(resync_result& result, resync_work& work, std::string const& start);
    boost::asio::awaitable<void> report_resync_state(std::string status, std::string const& start,
                                                     std::optional<std::string> end);
    /// Waits until no resync runs.
    boost::asio::awaitable<void> wait_resync_idle();
    bool has_resync_handlers() const noexcept { return !resync_handlers.empty(); }

    // lifecycle/listeners.cpp
    /// Runs the event listener of config.event_listener_type until stop(), and sets
    /// `listener_error`, which async_run completes with (set only by ONCE).
    boost::asio::awaitable<void> run_listener();
    boost::system::error_code listener_error;
    boost::asio::awaitable<void> run_polling();
    boost::asio::awaitable<void> run_once();
    /// Waits for `duration` or stop(), whichever comes first. Returns false when stopping.
    boost::asio::awaitable<bool> sleep_unless_stopped(std::chrono::milliseconds duration);
    boost::asio::awaitable<std::optional<std::string>> read_resync_request();
    void add_webhook_listener_route();
    /// Starts a resync in the background unless the integration is starting or stopping.
    boost::asio::awaitable<bool> accept_resync_request();
};

} // namespace ocean
