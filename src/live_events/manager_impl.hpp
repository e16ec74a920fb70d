// State of the live-events pipeline. Every member is used on `strand` only, except `metrics`
// (atomics and a mutex) and the inbox file while the flusher hands it to the disk executor.
#pragma once

#include <ocean/live_events/inbox.hpp>
#include <ocean/live_events/key_scheduler.hpp>
#include <ocean/live_events/processor_manager.hpp>
#include <ocean/mapping/entity_processor.hpp>

#include "live_events/live_metrics.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ocean::live_events {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using std::chrono::system_clock;

/// An event that is in the inbox and not yet applied or dead.
struct tracked_event {
    webhook_event event;
    /// Entity writes submitted to the Port writer and not yet confirmed.
    std::size_t outstanding_writes = 0;
    /// The first per-entity rejection Port returned for this event's writes.
    std::string write_failure;
    unsigned attempts = 0;
};

/// The latest write for one entity within a coalescing window.
struct pending_write {
    bool is_delete = false;
    port::entity entity;
    /// Events waiting for this write; an event whose write was superseded waits for the newer one.
    std::vector<std::uint64_t> waiters;
};

/// The group-commit state shared by the deliveries whose records went into one write.
struct commit_batch {
    explicit commit_batch(asio::any_io_executor ex) : done_signal(ex, clock_type::time_point::max()) {}
    asio::steady_timer done_signal;
    bool done = false;
    bool needs_sync = false;
    std::error_code error;
};

/// The duplicate-check record of one delivery id.
struct delivery_state {
    enum class status { pending, applied, dead };
    status state = status::pending;
    std::uint64_t sequence = 0;
    system_clock::time_point at;
};

struct processor_manager::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, port::client& port_client, http::route_group group, manager_options opts);

    asio::any_io_executor executor;
    asio::strand<asio::any_io_executor> strand;
    port::client& port;
    http::route_group routes;
    manager_options options;
    std::optional<asio::thread_pool> own_disk_pool;
    live_metrics metrics;

    std::map<std::string, std::vector<std::shared_ptr<webhook_processor>>> processors;
    /// Replaced as a whole by start(); a coroutine keeps its own reference while it maps one event.
    std::shared_ptr<mapping::entity_processor const> mapper;

    // Lifecycle.
    bool started = false;
    bool stopping = false;
    /// Set when the drain deadline passed: in-flight work is being cancelled.
    bool aborting = false;
    bool stopped = false;
    std::size_t running_coroutines = 0;
    std::vector<std::unique_ptr<asio::cancellation_signal>> cancellations;
    std::vector<asio::any_completion_handler<void(boost::system::error_code)>> stop_waiters;

    // Inbox content.
    std::optional<inbox_file> file;
    std::uint64_t next_sequence = 1;
    std::map<std::uint64_t, std::shared_ptr<tracked_event>> events;
    std::map<std::uint64_t, std::pair<webhook_event, dead_letter_info>> dead;

    // Duplicate detection.
    std::unordered_map<std::string, delivery_state> deliveries;
    std::deque<std::pair<system_clock::time_point, std::string>> applied_order;

    key_scheduler scheduler;
    /// Cancelled to wake idle workers when a key becomes ready.
    asio::steady_timer work_signal;
    std::size_t processing = 0;

    // Group commit.
    std::string log_buffer;
    std::shared_ptr<commit_batch> batch;
    bool flusher_running = false;
    /// Set after a failed write, which may have left a partial record in the middle of the file:
    /// the next turn rewrites the file from memory before appending.
    bool rewrite_needed = false;
    /// The file size past which the next turn considers compaction. Measuring the live records
    /// costs time in proportion to them, so the threshold doubles whenever the file is still
    /// worth keeping: the checks then cost a constant amount per byte appended.
    std::uint64_t compaction_check_at = 16u * 1024u * 1024u;

    // Port writer.
    std::map<std::string, pending_write> window;
    asio::steady_timer writer_signal;
    bool writing = false;

    // processor_manager.cpp: the HTTP edge, the inbox, admin routes and the lifecycle.
    void register_route(std::string const& path);
    void register_admin_routes();
    asio::awaitable<http::response> accept(std::string path, http::request const& request);
    asio::awaitable<void> commit(std::string records);
    void append_log(std::string records, bool sync);
    asio::awaitable<void> flush_log();
    std::string live_records() const;
    void recover(recovered_state state);
    void do_start(mapping::port_app_config config);
    void do_stop();
    asio::awaitable<void> drain();
    void spawn(asio::awaitable<void> body, bool cancellable);
    asio::awaitable<http::response> replay_dead_letter(std::uint64_t sequence);
    void forget_expired_deliveries();

    // pipeline.cpp: workers, handle_event with retries, mapping, the Port writer.
    void enqueue(std::uint64_t sequence, std::string const& ordering_key);
    asio::awaitable<void> worker();
    asio::awaitable<void> process(std::shared_ptr<tracked_event> tracked);
    asio::awaitable<std::vector<std::pair<std::size_t, event_results>>> run_processors(
        std::shared_ptr<tracked_event> tracked, std::shared_ptr<mapping::entity_processor const> entity_mapper);
    asio::awaitable<event_results> handle_with_retries(std::shared_ptr<webhook_processor> processor,
                                                       std::shared_ptr<tracked_event> tracked,
                                                       mapping::resource_config const& resource);
    void submit_writes(std::shared_ptr<tracked_event> const& tracked, std::vector<port::entity> upserts,
                       std::vector<port::entity> deletes);
    asio::awaitable<void> writer();
    asio::awaitable<bool> send_window(std::map<std::string, pending_write>& batch);
    void finish(std::uint64_t sequence);
    void mark_applied(std::uint64_t sequence);
    void mark_dead(std::uint64_t sequence, std::string reason);
};

} // namespace ocean::live_events
