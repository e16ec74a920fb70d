// ocean::integration: the router, lifecycle hooks and data calls of one Port integration.
#pragma once

#include <ocean/config.hpp>
#include <ocean/detail/async.hpp>
#include <ocean/http/router.hpp>
#include <ocean/http/server.hpp>
#include <ocean/live_events/webhook_processor.hpp>
#include <ocean/mapping/entity_processor.hpp>
#include <ocean/port/client.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace ocean {

/// A startup hook, awaited before the integration reports ready.
using start_hook = std::function<boost::asio::awaitable<void>()>;

/// Raw third-party items of one kind, as the API returned them.
using raw_batch = std::vector<boost::json::value>;

/// The destination of a streaming resync handler's batches. The resync maps and writes each
/// batch before it takes the next one. So besides the batch being written, at most one batch
/// waits in memory, however many items the source has. The resync owns the sink, which is valid
/// while the handler runs.
class batch_sink {
public:
    /// Hands `batch` to the resync and completes once the resync has taken it.
    /// Completion: void(error_code). Errors: boost::asio::error::operation_aborted when the resync
    /// was cancelled by a newer resync, stop() or the caller's cancellation. The same error comes
    /// when the resync gave up on this kind after a write to Port failed. The handler should then
    /// return.
    /// Cancellation: terminal, partial and total; the batch is then dropped.
    template <class Token = default_token>
    auto async_write(raw_batch batch, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code)>(
            std::forward<Token>(token),
            [this, b = std::move(batch)](auto h) mutable { write_impl(std::move(b), std::move(h)); });
    }

    /// The kind being resynced.
    std::string const& kind() const noexcept;

    struct impl;
    explicit batch_sink(impl& state) noexcept : impl_(&state) {}

private:
    void write_impl(raw_batch batch, boost::asio::any_completion_handler<void(boost::system::error_code)> h);

    impl* impl_;
};

/// A resync handler that returns all items of `kind` at once (small sources).
using resync_batch_handler = std::function<boost::asio::awaitable<raw_batch>(std::string const& kind)>;

/// A resync handler that streams the items of `kind` in batches through `sink` and returns when
/// the source is exhausted. An exception fails the kind, and then the resync deletes nothing.
using resync_stream_handler =
    std::function<boost::asio::awaitable<void>(std::string const& kind, batch_sink& sink)>;

/// A stream of raw batches that a resync handler returns: the coroutine that writes them to the
/// resync's sink, started only when the resync reads the stream.
///
///     app.on_resync("repository", [&](std::string const& kind) {
///         return ocean::raw_item_stream([&](ocean::batch_sink& sink) -> boost::asio::awaitable<void> {
///             for (auto page = 1; ...; ++page)
///                 co_await sink.async_write(co_await fetch_page(page));
///         });
///     });
class raw_item_stream {
public:
    using producer = std::function<boost::asio::awaitable<void>(batch_sink& sink)>;

    explicit raw_item_stream(producer body) : body_(std::move(body)) {}

    /// Runs the producer, which writes every batch to `sink`.
    boost::asio::awaitable<void> write_to(batch_sink& sink) const { return body_(sink); }

private:
    producer body_;
};

/// A hook run before or after a resync.
using resync_hook = std::function<boost::asio::awaitable<void>()>;

/// The outcome of one kind in a resync.
struct kind_result {
    std::string kind;
    /// Raw items the handlers produced.
    std::size_t items = 0;
    std::size_t upserted = 0;
    /// Items whose identifier or blueprint mapped to null, and items that failed the selector.
    std::size_t skipped = 0;
    /// Entities Port rejected one by one (the kind still counts as written).
    std::vector<port::entity_failure> failures;
    /// Set when the kind failed: a handler threw, a mapping error occurred, or a write to Port
    /// failed as a whole. A failed kind prevents every deletion of the resync.
    std::optional<std::string> error;
    /// The error behind `error` when there is one (ocean::error::jq_error for mapping errors).
    boost::system::error_code code;
};

/// The outcome of a full resync.
struct resync_result {
    enum class state { completed, failed, aborted };
    state status = state::completed;
    std::vector<kind_result> kinds;
    /// Entities that reconciliation found stale and deleted.
    std::size_t deleted = 0;
    /// Entities owned by this integration, untouched by this resync and not produced by it.
    std::size_t stale = 0;
    /// True when the delete phase ran (no kind failed and the share to delete was within the
    /// entityDeletionThreshold of the port-app-config).
    bool reconciled = false;
    /// The reason no deletion happened, when it did not.
    std::string reconciliation_note;

    bool ok() const noexcept { return status == state::completed; }
};

/// The outcome of a data call.
struct sync_result {
    std::size_t upserted = 0;
    std::size_t deleted = 0;
    /// Items skipped because their identifier or blueprint mapped to null.
    std::size_t skipped = 0;
    std::vector<port::entity_failure> failures;
    std::vector<mapping::misconfiguration> misconfigured;
    /// Mapping errors (non-boolean selector, ...), each naming the kind.
    std::vector<std::string> errors;
};

/// One integration on the caller's executor: an HTTP server with routes under `/integration`,
/// a Port client, and the port-app-config mapping. It starts no threads and installs no signal
/// handlers; the application owns both.
class integration {
public:
    integration(boost::asio::any_io_executor executor, integration_config config);
    ~integration();
    integration(integration const&) = delete;
    integration& operator=(integration const&) = delete;

    /// Routes under `/integration`: `router().post("/webhook", h)` serves POST /integration/webhook.
    http::route_group& router() noexcept;

    /// Adds a startup hook. Hooks run in order after provisioning; a failing hook is logged with
    /// its error and the integration still serves webhooks.
    void on_start(start_hook hook);

    /// Adds a resync handler for `kind`; an empty `kind` handles every kind of the
    /// port-app-config. `handler` is a resync_batch_handler (returns one batch), a
    /// resync_stream_handler (writes batches to a sink), or a callable that takes the kind and
    /// returns a raw_item_stream. Several handlers of one kind run one after the other and their
    /// items add up. Register handlers before async_run.
    template <class Handler>
    void on_resync(std::string kind, Handler handler)
    {
        if constexpr (std::is_invocable_v<Handler&, std::string const&, batch_sink&>) {
            add_stream_handler(std::move(kind), resync_stream_handler(std::move(handler)));
        } else if constexpr (std::is_same_v<std::invoke_result_t<Handler&, std::string const&>, raw_item_stream>) {
            add_stream_handler(std::move(kind),
                               [h = std::move(handler)](std::string const& k,
                                                        batch_sink& sink) mutable -> boost::asio::awaitable<void> {
                                   auto const stream = h(k);
                                   co_await stream.write_to(sink);
                               });
        } else {
            add_batch_handler(std::move(kind), resync_batch_handler(std::move(handler)));
        }
    }

    /// Adds a hook that runs before any kind of each resync. A failing hook fails the resync's
    /// delete phase (the catalog state is unknown), not the extraction.
    void on_resync_start(resync_hook hook);

    /// Adds a hook that runs after a resync completed, reconciliation included.
    void on_resync_complete(resync_hook hook);

    /// Adds a webhook processor on `path`, served at POST /integration{path}; several processors
    /// may share a path. The first call opens the live-events inbox (settings from
    /// OCEAN__LIVE_EVENTS__*, see docs/LIVE_EVENTS.md). Throws ocean::config_error for an invalid
    /// setting and std::system_error when the inbox cannot be opened. Call before async_run.
    void add_webhook_processor(std::string const& path, std::shared_ptr<live_events::webhook_processor> processor);

    integration_config const& config() const noexcept;
    port::client& port_client() noexcept;
    http::server& server() noexcept;

    /// The port-app-config in use (after startup provisioning), or nullptr before it.
    mapping::port_app_config const* port_app_config() const noexcept;

    /// Binds the HTTP server now, so local_endpoint() is known before async_run.
    boost::system::error_code listen();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Provisions the integration in Port, serves HTTP, awaits the start hooks, reports ready,
    /// starts the event listener (config().event_listener_type) and serves until stop().
    /// Provisioning creates the integration with the default port-app-config of the resources
    /// path, or patches the fields that differ. It creates the default blueprints when Port
    /// reports resources as not initialised. With the ONCE listener, async_run completes after
    /// its resync instead, so a CronJob gets an exit status.
    /// Completion: void(error_code). Errors: ocean::error::invalid_config when configuration or
    /// the port-app-config is invalid, Port errors from provisioning, and the HTTP server's
    /// listen error. With ONCE, a failed resync gives the first failed kind's error, or
    /// ocean::error::protocol_error when that kind had none. A ONCE resync that stop() aborted
    /// gives boost::asio::error::operation_aborted.
    /// Cancellation: terminal, partial or total cancellation acts as stop().
    template <class Token = default_token>
    auto async_run(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code)>(
            std::forward<Token>(token), [this](auto h) { run_impl(std::move(h)); });
    }

    /// Stops: the event listener ends, a running resync is cancelled and reported `aborted` to
    /// Port (deleting nothing), the server takes no new requests and in-flight ones finish up to
    /// config().shutdown_timeout. async_run then completes. Any thread, repeatedly.
    void stop();

    /// Runs a full resync. First come the on_resync_start hooks. Then every kind of the
    /// port-app-config runs, up to config().resync_kind_concurrency kinds at a time, and each
    /// batch is mapped and upserted as it arrives. Reconciliation then deletes the entities of
    /// this integration that Port last changed before the resync started and that no kind
    /// produced. It deletes nothing when a kind failed or when the share to delete exceeds
    /// entityDeletionThreshold. The on_resync_complete hooks run last.
    /// The resync state (running, completed, failed, aborted) is reported to Port. A resync
    /// started while another runs cancels the older one, which deletes nothing and is reported
    /// aborted.
    /// Completion: void(error_code, resync_result). Kind failures are data in the result, whose
    /// status is then failed. The error_code is set only when the resync could not run or did
    /// not finish. ocean::error::stopping means startup provisioning has not finished or stop()
    /// was called, and operation_aborted means the resync was cancelled.
    /// Cancellation: terminal, partial and total; the resync is aborted as above.
    template <class Token = default_token>
    auto async_sync_raw_all(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, resync_result)>(
            std::forward<Token>(token), [this](auto h) { sync_raw_all_impl(std::move(h)); });
    }

    /// Maps `items` of `kind` through the port-app-config and upserts the entities that pass the
    /// selector. Entities of items that fail it are deleted, as Port Ocean does.
    /// Completion: void(error_code, sync_result). Errors: error::unknown_kind when no resource
    /// maps `kind`, and error::stopping before startup provisioning finished.
    /// Cancellation: terminal, partial and total; requests already sent are not undone.
    template <class Token = default_token>
    auto async_register_raw(std::string kind, std::vector<boost::json::value> items, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, sync_result)>(
            std::forward<Token>(token), [this, k = std::move(kind), i = std::move(items)](auto h) mutable {
                register_raw_impl(std::move(k), std::move(i), std::move(h));
            });
    }

    /// Maps `items` of `kind` and deletes the entities that pass the selector.
    /// Completion: void(error_code, sync_result). error::unknown_kind when no resource maps `kind`.
    template <class Token = default_token>
    auto async_unregister_raw(std::string kind, std::vector<boost::json::value> items, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, sync_result)>(
            std::forward<Token>(token), [this, k = std::move(kind), i = std::move(items)](auto h) mutable {
                unregister_raw_impl(std::move(k), std::move(i), std::move(h));
            });
    }

    /// Upserts ready-made entities (for example read from files in a repository) with the gitops
    /// User-Agent, so Port records them under this integration's gitops datasource and resync
    /// reconciliation never deletes them. Completion: void(error_code, sync_result).
    /// Cancellation: terminal, partial and total; requests already sent are not undone.
    template <class Token = default_token>
    auto async_register(std::vector<port::entity> entities, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, sync_result)>(
            std::forward<Token>(token),
            [this, e = std::move(entities)](auto h) mutable { register_impl(std::move(e), true, std::move(h)); });
    }

    /// Deletes ready-made entities with the gitops User-Agent. Completion: void(error_code,
    /// sync_result). Cancellation as async_register.
    template <class Token = default_token>
    auto async_unregister(std::vector<port::entity> entities, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, sync_result)>(
            std::forward<Token>(token),
            [this, e = std::move(entities)](auto h) mutable { register_impl(std::move(e), false, std::move(h)); });
    }

    struct impl;

private:
    void add_batch_handler(std::string kind, resync_batch_handler handler);
    void add_stream_handler(std::string kind, resync_stream_handler handler);
    void sync_raw_all_impl(boost::asio::any_completion_handler<void(boost::system::error_code, resync_result)> h);
    void register_impl(std::vector<port::entity> entities, bool upsert,
                       boost::asio::any_completion_handler<void(boost::system::error_code, sync_result)> h);
    void run_impl(boost::asio::any_completion_handler<void(boost::system::error_code)> h);
    void register_raw_impl(std::string kind, std::vector<boost::json::value> items,
                           boost::asio::any_completion_handler<void(boost::system::error_code, sync_result)> h);
    void unregister_raw_impl(std::string kind, std::vector<boost::json::value> items,
                             boost::asio::any_completion_handler<void(boost::system::error_code, sync_result)> h);

    std::shared_ptr<impl> impl_;
};

} // namespace ocean
