#include <ocean/live_events/processor_manager.hpp>

#include "detail/launch.hpp"
#include "live_events/manager_impl.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace ocean::live_events {
namespace {

namespace json = boost::json;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Parses an event's body. The payload lives as long as the event and is never freed node by
// node, so it goes into an arena of its own, shared by every copy of the event.
json::value parse_payload(std::string const& body, boost::system::error_code& ec)
{
    json::parse_options limits;
    limits.max_depth = 256;
    return json::parse(body, ec, json::make_shared_resource<json::monotonic_resource>(body.size() * 4 + 1024), limits);
}

http::response service_unavailable(std::string_view code, std::string_view message, unsigned retry_after)
{
    auto r = http::response::error(503, code, message);
    r.headers.set("Retry-After", std::to_string(retry_after));
    return r;
}

std::string delivery_id_of(http::request const& request, webhook_processor const& processor,
                           manager_options const& options)
{
    if (auto const header = processor.delivery_id_header()) {
        auto const value = request.header(*header);
        return value ? std::string(*value) : std::string();
    }
    for (auto const& name : options.delivery_id_headers)
        if (auto const value = request.header(name))
            return std::string(*value);
    return {};
}

bool bearer_matches(http::request const& request, std::string const& token)
{
    auto const header = request.header("Authorization");
    return header && request.headers().count("Authorization") == 1 &&
           http::constant_time_equal(*header, "Bearer " + token);
}

} // namespace

processor_manager::impl::impl(asio::any_io_executor ex, port::client& port_client, http::route_group group,
                              manager_options opts)
    : executor(ex),
      strand(asio::make_strand(ex)),
      port(port_client),
      routes(std::move(group)),
      options(std::move(opts)),
      work_signal(strand, clock_type::time_point::max()),
      writer_signal(strand, clock_type::time_point::max())
{
    if (!options.disk_executor && options.disk_threads > 0) {
        own_disk_pool.emplace(options.disk_threads);
        options.disk_executor = own_disk_pool->get_executor();
    }
    batch = std::make_shared<commit_batch>(strand);
}

void processor_manager::impl::recover(recovered_state state)
{
    next_sequence = state.next_sequence;
    for (auto& event : state.pending) {
        auto tracked = std::make_shared<tracked_event>();
        tracked->event = std::move(event);
        if (!tracked->event.delivery_id.empty())
            deliveries[tracked->event.delivery_id] = {delivery_state::status::pending, tracked->event.sequence,
                                                      tracked->event.accepted_at};
        events.emplace(tracked->event.sequence, std::move(tracked));
    }
    for (auto& [event, info] : state.dead) {
        if (!event.delivery_id.empty())
            deliveries[event.delivery_id] = {delivery_state::status::dead, event.sequence, info.failed_at};
        auto const sequence = event.sequence;
        dead.emplace(sequence, std::make_pair(std::move(event), std::move(info)));
    }
    for (auto const& [id, at] : state.seen) {
        deliveries.try_emplace(id, delivery_state{delivery_state::status::applied, 0, at});
        applied_order.emplace_back(at, id);
    }
    std::sort(applied_order.begin(), applied_order.end());
    metrics.inbox_depth = events.size();
    metrics.dead_letters = dead.size();
}

void processor_manager::impl::spawn(asio::awaitable<void> body, bool cancellable)
{
    ++running_coroutines;
    auto done = [self = shared_from_this()](std::exception_ptr failure) {
        --self->running_coroutines;
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (std::exception const& e) {
                if (!self->aborting)
                    spdlog::error("live events: an internal task failed: {}", e.what());
            }
        }
    };
    if (!cancellable) {
        asio::co_spawn(strand, std::move(body), std::move(done));
        return;
    }
    cancellations.push_back(std::make_unique<asio::cancellation_signal>());
    asio::co_spawn(strand, std::move(body), asio::bind_cancellation_slot(cancellations.back()->slot(), std::move(done)));
}

void processor_manager::impl::register_route(std::string const& path)
{
    std::weak_ptr<impl> weak = shared_from_this();
    http::route_options raw;
    raw.body = http::body_mode::raw;
    routes.post(
        path,
        [weak, path](http::request const& request) -> asio::awaitable<http::response> {
            auto self = weak.lock();
            if (!self)
                co_return http::response::error(503, "stopping", "live events are not running");
            co_return co_await asio::co_spawn(self->strand, self->accept(path, request), asio::use_awaitable);
        },
        raw);
}

asio::awaitable<http::response> processor_manager::impl::accept(std::string path, http::request const& request)
{
    auto self = shared_from_this();
    if (stopping) {
        metrics.rejected("stopping");
        co_return service_unavailable("stopping", "the integration is stopping; retry later",
                                      options.retry_after_seconds);
    }

    webhook_event event;
    event.path = path;
    event.headers = request.headers();
    event.body = request.body();
    event.accepted_at = system_clock::now();
    boost::system::error_code parse_error;
    event.payload = parse_payload(event.body, parse_error);
    if (parse_error) {
        metrics.rejected("invalid_json");
        co_return http::response::error(400, "invalid_json", "the body is not valid JSON: " + parse_error.message());
    }

    std::vector<std::shared_ptr<webhook_processor>> claimed;
    for (auto const& processor : processors[path])
        if (co_await processor->should_process_event(event))
            claimed.push_back(processor);
    if (claimed.empty()) {
        metrics.rejected("unsupported");
        spdlog::info("live events: no processor on {} handles this event (request id {}); acknowledged and dropped",
                     path, request.request_id());
        co_return http::response::json(json::object{{"status", "ignored"}}, 200);
    }

    // Authentication and validation come before anything is stored, so a forged or malformed
    // delivery gets its error at once and never reaches the inbox.
    for (auto const& processor : claimed) {
        auto const verdict = co_await processor->authenticate(event.body, event.headers);
        if (verdict)
            continue;
        bool const malformed = verdict.status == http::signature_status::malformed;
        metrics.rejected(malformed ? "malformed_signature" : "unauthenticated");
        co_return http::response::error(malformed ? 400 : 401, malformed ? "bad_request" : "unauthorized",
                                        verdict.reason);
    }
    for (auto const& processor : claimed) {
        auto const problem = co_await processor->validate_payload(event.payload);
        if (problem.empty())
            continue;
        metrics.rejected("invalid_payload");
        co_return http::response::error(422, "invalid_payload", problem);
    }

    // Bearer credentials have done their job once authenticate() passed; they are not written to
    // the inbox file, so the file never holds a secret that a sender presented.
    for (char const* credential : {"Authorization", "Proxy-Authorization", "Cookie", "X-Gitlab-Token"})
        event.headers.erase(credential);

    event.delivery_id = delivery_id_of(request, *claimed.front(), options);
    event.ordering_key = claimed.front()->ordering_key(event).value_or("");

    // The checks above may have suspended, so the state is read again here. No suspension follows
    // until the records are queued for the log, which keeps two copies of one delivery from both passing.
    if (stopping) {
        metrics.rejected("stopping");
        co_return service_unavailable("stopping", "the integration is stopping; retry later",
                                      options.retry_after_seconds);
    }
    forget_expired_deliveries();
    std::optional<std::uint64_t> superseded_dead_letter;
    if (!event.delivery_id.empty()) {
        if (auto it = deliveries.find(event.delivery_id); it != deliveries.end()) {
            if (it->second.state != delivery_state::status::dead) {
                metrics.duplicates++;
                co_return http::response::json(json::object{{"status", "duplicate"}}, 200);
            }
            // A redelivery of a failed delivery is the sender's recovery path: process it again.
            superseded_dead_letter = it->second.sequence;
        }
    }
    if (events.size() >= options.inbox_capacity) {
        metrics.rejected("inbox_full");
        co_return service_unavailable("inbox_full",
                                      "the live-events inbox holds " + std::to_string(events.size()) +
                                          " events, its capacity; retry later",
                                      options.retry_after_seconds);
    }

    event.sequence = next_sequence++;
    auto const sequence = event.sequence;
    auto const delivery_id = event.delivery_id;
    auto const ordering_key = event.ordering_key;
    std::string records = encode_event(event);
    if (superseded_dead_letter)
        records += encode_marker(record_type::discarded, *superseded_dead_letter);
    auto tracked = std::make_shared<tracked_event>();
    tracked->event = std::move(event);
    events.emplace(sequence, tracked);
    if (!delivery_id.empty())
        deliveries[delivery_id] = {delivery_state::status::pending, sequence, tracked->event.accepted_at};
    metrics.inbox_depth = events.size();

    std::exception_ptr storage_failure;
    try {
        co_await commit(std::move(records));
    } catch (std::exception const&) {
        storage_failure = std::current_exception();
    }
    if (storage_failure) {
        events.erase(sequence);
        if (!delivery_id.empty())
            deliveries.erase(delivery_id);
        metrics.inbox_depth = events.size();
        metrics.rejected("storage_error");
        try {
            std::rethrow_exception(storage_failure);
        } catch (std::exception const& e) {
            spdlog::error("live events: cannot store delivery on {}: {}", path, e.what());
        }
        co_return service_unavailable("storage_error", "the event could not be stored; retry later",
                                      options.retry_after_seconds);
    }

    if (superseded_dead_letter && dead.erase(*superseded_dead_letter) > 0)
        metrics.dead_letters = dead.size();
    metrics.accepted++;
    if (started && !stopping)
        enqueue(sequence, ordering_key);
    co_return http::response::json(json::object{{"status", "accepted"}, {"id", sequence}}, 202);
}

void processor_manager::impl::forget_expired_deliveries()
{
    auto const horizon = system_clock::now() - options.duplicate_window;
    while (!applied_order.empty() && applied_order.front().first < horizon) {
        auto it = deliveries.find(applied_order.front().second);
        if (it != deliveries.end() && it->second.state == delivery_state::status::applied &&
            it->second.at <= applied_order.front().first)
            deliveries.erase(it);
        applied_order.pop_front();
    }
}

void processor_manager::impl::append_log(std::string records, bool sync)
{
    if (!file)
        return;
    log_buffer += records;
    batch->needs_sync = batch->needs_sync || sync;
    if (!flusher_running) {
        flusher_running = true;
        spawn(flush_log(), false);
    }
}

asio::awaitable<void> processor_manager::impl::commit(std::string records)
{
    if (!file)
        co_return;
    auto mine = batch;
    append_log(std::move(records), true);
    if (!mine->done)
        co_await mine->done_signal.async_wait(use_tuple);
    if (mine->error)
        throw std::system_error(mine->error, "inbox write failed");
}

std::string processor_manager::impl::live_records() const
{
    std::string live;
    auto const horizon = system_clock::now() - options.duplicate_window;
    for (auto const& [id, state] : deliveries)
        if (state.state == delivery_state::status::applied && state.at >= horizon)
            live += encode_seen(id, state.at);
    for (auto const& [sequence, entry] : dead) {
        live += encode_event(entry.first);
        live += encode_dead(sequence, entry.second);
    }
    for (auto const& [sequence, tracked] : events)
        live += encode_event(tracked->event);
    return live;
}

// The only writer of the inbox file. Each turn writes everything appended since the previous turn
// with one fdatasync (group commit), then wakes every delivery waiting on that write.
asio::awaitable<void> processor_manager::impl::flush_log()
{
    auto self = shared_from_this();
    // Compaction is considered once the file passes this size, and the threshold never drops below it.
    constexpr std::uint64_t compaction_floor = 16u * 1024u * 1024u;
    while (!log_buffer.empty()) {
        auto bytes = std::exchange(log_buffer, std::string());
        auto current = std::exchange(batch, std::make_shared<commit_batch>(strand));
        bool const sync = current->needs_sync;
        inbox_file* target = &*file;
        // A partial record followed by good ones would end the log early at the next start, so a
        // failed write is repaired by rewriting the live records before anything else is appended.
        std::string repair;
        if (rewrite_needed)
            repair = live_records();
        bool const repairing = rewrite_needed;
        auto write = [target, bytes = std::move(bytes), sync, repair = std::move(repair),
                      repairing]() -> asio::awaitable<std::error_code> {
            try {
                if (repairing)
                    target->rewrite(repair);
                target->write_and_sync(bytes, sync);
            } catch (std::system_error const& e) {
                co_return e.code();
            }
            co_return std::error_code();
        };
        std::error_code error;
        if (options.disk_executor)
            error = co_await asio::co_spawn(*options.disk_executor, std::move(write), asio::use_awaitable);
        else
            error = co_await write();
        if (error)
            spdlog::error("live events: writing the inbox '{}' failed: {}", file->path().string(), error.message());
        rewrite_needed = static_cast<bool>(error);
        metrics.group_commits++;
        current->error = error;
        current->done = true;
        current->done_signal.cancel();

        if (!error && file->size() > compaction_check_at) {
            auto live = live_records();
            // Compact when the file is more than four times larger than its live records.
            compaction_check_at = std::max(compaction_floor, 2 * file->size());
            if (file->size() > 4 * live.size()) {
                auto const before = file->size();
                auto rewrite = [target, live = std::move(live)]() -> asio::awaitable<std::error_code> {
                    try {
                        target->rewrite(live);
                    } catch (std::system_error const& e) {
                        co_return e.code();
                    }
                    co_return std::error_code();
                };
                std::error_code compaction_error;
                if (options.disk_executor)
                    compaction_error =
                        co_await asio::co_spawn(*options.disk_executor, std::move(rewrite), asio::use_awaitable);
                else
                    compaction_error = co_await rewrite();
                if (compaction_error)
                    spdlog::warn("live events: compacting the inbox failed, the log keeps growing: {}",
                                 compaction_error.message());
                else {
                    spdlog::info("live events: compacted the inbox from {} to {} bytes", before, file->size());
                    compaction_check_at = std::max(compaction_floor, 4 * file->size());
                }
            }
        }
    }
    flusher_running = false;
}

void processor_manager::impl::register_admin_routes()
{
    std::weak_ptr<impl> weak = shared_from_this();
    routes.get("/_admin/metrics", [weak](http::request const&) -> asio::awaitable<http::response> {
        auto self = weak.lock();
        if (!self)
            co_return http::response::error(503, "stopping", "live events are not running");
        co_return http::response::text(self->metrics.render(), 200, "text/plain; version=0.0.4; charset=utf-8");
    });
    if (options.admin_token.empty()) {
        spdlog::info("live events: OCEAN__LIVE_EVENTS__ADMIN_TOKEN is not set; the dead-letter admin routes are off");
        return;
    }

    auto guarded = [weak, token = options.admin_token](auto body) {
        return [weak, token, body](http::request const& request) -> asio::awaitable<http::response> {
            auto self = weak.lock();
            if (!self)
                co_return http::response::error(503, "stopping", "live events are not running");
            if (!bearer_matches(request, token))
                co_return http::response::error(401, "unauthorized", "missing or wrong admin bearer token");
            co_return co_await asio::co_spawn(self->strand, body(self, request), asio::use_awaitable);
        };
    };

    routes.get("/_admin/dead-letters",
               guarded([](std::shared_ptr<impl> self, http::request const&) -> asio::awaitable<http::response> {
                   json::array list;
                   for (auto const& [sequence, entry] : self->dead) {
                       auto const& [event, info] = entry;
                       auto const failed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  info.failed_at.time_since_epoch())
                                                  .count();
                       list.push_back(json::object{{"id", sequence},
                                                   {"path", event.path},
                                                   {"delivery_id", event.delivery_id},
                                                   {"ordering_key", event.ordering_key},
                                                   {"attempts", info.attempts},
                                                   {"reason", info.reason},
                                                   {"failed_at_ms", failed_ms}});
                   }
                   co_return http::response::json(json::object{{"dead_letters", std::move(list)}});
               }));

    auto sequence_of = [](http::request const& request) -> std::uint64_t {
        auto const text = request.param("id");
        std::uint64_t value = 0;
        auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size())
            throw http::error_response(400, "bad_request", "dead-letter id must be a number, got '" +
                                                               std::string(text) + "'");
        return value;
    };

    routes.post("/_admin/dead-letters/{id}/replay",
                guarded([sequence_of](std::shared_ptr<impl> self,
                                      http::request const& request) -> asio::awaitable<http::response> {
                    auto const sequence = sequence_of(request);
                    co_return co_await self->replay_dead_letter(sequence);
                }),
                http::route_options{http::body_mode::raw});

    routes.del("/_admin/dead-letters/{id}",
               guarded([sequence_of](std::shared_ptr<impl> self,
                                     http::request const& request) -> asio::awaitable<http::response> {
                   auto const sequence = sequence_of(request);
                   auto it = self->dead.find(sequence);
                   if (it == self->dead.end())
                       throw http::error_response(404, "not_found",
                                                  "no dead letter with id " + std::to_string(sequence));
                   auto const delivery_id = it->second.first.delivery_id;
                   self->dead.erase(it);
                   if (!delivery_id.empty())
                       self->deliveries.erase(delivery_id);
                   self->metrics.dead_letters = self->dead.size();
                   co_await self->commit(encode_marker(record_type::discarded, sequence));
                   spdlog::info("live events: dead letter {} (delivery '{}') discarded by an admin request",
                                sequence, delivery_id);
                   co_return http::response::json(json::object{{"status", "discarded"}, {"id", sequence}});
               }));
}

asio::awaitable<http::response> processor_manager::impl::replay_dead_letter(std::uint64_t sequence)
{
    auto it = dead.find(sequence);
    if (it == dead.end())
        throw http::error_response(404, "not_found", "no dead letter with id " + std::to_string(sequence));
    if (stopping)
        co_return service_unavailable("stopping", "the integration is stopping; retry later",
                                      options.retry_after_seconds);
    if (events.size() >= options.inbox_capacity)
        co_return service_unavailable("inbox_full", "the live-events inbox is full; retry later",
                                      options.retry_after_seconds);

    auto tracked = std::make_shared<tracked_event>();
    tracked->event = std::move(it->second.first);
    dead.erase(it);
    boost::system::error_code parse_error;
    tracked->event.payload = parse_payload(tracked->event.body, parse_error);
    auto const key = tracked->event.ordering_key;
    if (!tracked->event.delivery_id.empty())
        deliveries[tracked->event.delivery_id] = {delivery_state::status::pending, sequence, system_clock::now()};
    events.emplace(sequence, tracked);
    metrics.dead_letters = dead.size();
    metrics.inbox_depth = events.size();
    co_await commit(encode_marker(record_type::requeued, sequence));
    spdlog::info("live events: dead letter {} (delivery '{}') queued again by an admin request", sequence,
                 tracked->event.delivery_id);
    if (started)
        enqueue(sequence, key);
    co_return http::response::json(json::object{{"status", "requeued"}, {"id", sequence}}, 202);
}

void processor_manager::impl::do_start(mapping::port_app_config config)
{
    if (stopping)
        return;
    mapping::processor_options mapping_options;
    mapper = std::make_shared<mapping::entity_processor const>(std::move(config), mapping_options);
    if (started) {
        spdlog::info("live events: port-app-config replaced ({} resources)", mapper->config().resources.size());
        return;
    }
    started = true;
    for (auto const& [sequence, tracked] : events) {
        boost::system::error_code parse_error;
        if (tracked->event.payload.is_null())
            tracked->event.payload = parse_payload(tracked->event.body, parse_error);
        enqueue(sequence, tracked->event.ordering_key);
    }
    if (!events.empty())
        spdlog::info("live events: replaying {} events left in the inbox by the previous run", events.size());
    for (std::size_t i = 0; i < options.workers; ++i)
        spawn(worker(), true);
    spawn(writer(), true);
    spdlog::info("live events: started with {} workers, inbox {}", options.workers,
                 file ? file->path().string() : std::string("in memory only"));
}

void processor_manager::impl::do_stop()
{
    if (stopping)
        return;
    stopping = true;
    spawn(drain(), false);
}

asio::awaitable<void> processor_manager::impl::drain()
{
    auto self = shared_from_this();
    auto const deadline = clock_type::now() + options.drain_timeout;
    asio::steady_timer poll(strand);
    auto busy = [this] { return processing > 0 || writing || !window.empty() || scheduler.ready_count() > 0; };
    while (started && busy() && clock_type::now() < deadline) {
        poll.expires_after(std::chrono::milliseconds(20));
        co_await poll.async_wait(use_tuple);
    }
    bool const drained = !busy();
    aborting = true;
    for (auto& signal : cancellations)
        signal->emit(asio::cancellation_type::terminal);
    work_signal.cancel();
    writer_signal.cancel();
    // Wait for the cancelled tasks to unwind, so nothing touches the inbox after the final write.
    while (running_coroutines > 1 || flusher_running) {
        poll.expires_after(std::chrono::milliseconds(5));
        co_await poll.async_wait(use_tuple);
    }
    if (file && !log_buffer.empty()) {
        try {
            file->write_and_sync(std::exchange(log_buffer, std::string()), true);
        } catch (std::system_error const& e) {
            spdlog::error("live events: final inbox write failed: {}", e.what());
        }
    }

    if (!events.empty()) {
        std::string ids;
        for (auto const& [sequence, tracked] : events)
            ids += (ids.empty() ? "" : ", ") + std::to_string(sequence) +
                   (tracked->event.delivery_id.empty() ? "" : " (" + tracked->event.delivery_id + ")");
        if (file)
            spdlog::warn("live events: {} events not applied before the drain deadline stay in the inbox for the "
                         "next start: {}",
                         events.size(), ids);
        else
            spdlog::error("live events: {} acknowledged events were not applied and are lost (memory-only inbox); "
                          "ask the senders to redeliver: {}",
                          events.size(), ids);
    }
    spdlog::info("live events: stopped ({}; {} events pending, {} dead letters)",
                 drained ? "drained" : "drain deadline reached", events.size(), dead.size());
    file.reset();
    stopped = true;
    for (auto& waiter : std::exchange(stop_waiters, {}))
        asio::post(executor, asio::append(std::move(waiter), boost::system::error_code()));
}

processor_manager::processor_manager(asio::any_io_executor executor, port::client& port, http::route_group routes,
                                     manager_options options)
    : impl_(std::make_shared<impl>(executor, port, std::move(routes), std::move(options)))
{
    if (!impl_->options.inbox_path.empty()) {
        auto [file, state] = inbox_file::open(impl_->options.inbox_path, impl_->options.duplicate_window);
        impl_->file.emplace(std::move(file));
        impl_->recover(std::move(state));
    } else {
        spdlog::warn("live events: the inbox is in memory only; acknowledged events not yet applied are lost "
                     "if the process stops or crashes");
    }
    impl_->register_admin_routes();
}

processor_manager::~processor_manager()
{
    stop();
}

void processor_manager::add_processor(std::string const& path, std::shared_ptr<webhook_processor> processor)
{
    if (!processor)
        throw std::invalid_argument("add_webhook_processor: the processor for path '" + path + "' is null");
    auto& list = impl_->processors[path];
    if (list.empty())
        impl_->register_route(path);
    list.push_back(std::move(processor));
}

void processor_manager::start(mapping::port_app_config config)
{
    asio::post(impl_->strand, [self = impl_, c = std::move(config)]() mutable { self->do_start(std::move(c)); });
}

void processor_manager::stop()
{
    asio::post(impl_->strand, [self = impl_] { self->do_stop(); });
}

std::string processor_manager::metrics_text() const
{
    return impl_->metrics.render();
}

void processor_manager::wait_stopped_impl(asio::any_completion_handler<void(boost::system::error_code)> h)
{
    asio::post(impl_->strand, [self = impl_, h = std::move(h)]() mutable {
        if (self->stopped) {
            asio::post(self->executor, asio::append(std::move(h), boost::system::error_code()));
            return;
        }
        self->stop_waiters.push_back(std::move(h));
    });
}

} // namespace ocean::live_events
