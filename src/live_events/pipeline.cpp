// Workers, handle_event with retries and a deadline, mapping, and the coalescing Port writer.
#include "live_events/manager_impl.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <random>

namespace ocean::live_events {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string key_of(port::entity const& e)
{
    return e.blueprint + "/" + e.identifier_text();
}

double unit_random()
{
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

struct processing_outcome {
    std::vector<std::pair<std::size_t, event_results>> results;
    /// The failure message, empty on success.
    std::string failure;
};

// Thrown when an event cannot be processed and should go to the dead letters.
struct event_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace

void processor_manager::impl::enqueue(std::uint64_t sequence, std::string const& ordering_key)
{
    if (scheduler.add(sequence, ordering_key))
        work_signal.cancel();
}

asio::awaitable<void> processor_manager::impl::worker()
{
    auto self = shared_from_this();
    while (!aborting) {
        auto next = scheduler.take();
        if (!next) {
            co_await work_signal.async_wait(use_tuple);
            continue;
        }
        auto const& [key, sequence] = *next;
        if (auto it = events.find(sequence); it != events.end()) {
            ++processing;
            co_await process(it->second);
            --processing;
        }
        if (aborting)
            co_return;
        if (scheduler.release(key))
            work_signal.cancel();
    }
}

asio::awaitable<void> processor_manager::impl::process(std::shared_ptr<tracked_event> tracked)
{
    auto const sequence = tracked->event.sequence;
    if (tracked->event.payload.is_null() && !tracked->event.body.empty()) {
        mark_dead(sequence, "the stored body is not valid JSON");
        co_return;
    }

    auto const entity_mapper = mapper;
    asio::steady_timer deadline(strand);
    deadline.expires_after(options.processing_deadline);
    // Boost 1.81's operator|| waits for the first branch that completes without an exception, so
    // the processing branch reports failures as a value: it then wins the race with the deadline.
    auto guarded = [this, tracked, entity_mapper]() -> asio::awaitable<processing_outcome> {
        processing_outcome result;
        try {
            result.results = co_await run_processors(tracked, entity_mapper);
        } catch (std::exception const& e) {
            result.failure = e.what();
        }
        co_return result;
    };
    std::variant<processing_outcome, std::monostate> raced;
    try {
        raced = co_await (guarded() || deadline.async_wait(asio::use_awaitable));
    } catch (std::exception const& e) {
        processing_outcome cancelled;
        cancelled.failure = e.what();
        raced = std::move(cancelled);
    }
    if (aborting)
        co_return; // cancelled by stop(): the event stays in the inbox for the next start
    if (raced.index() == 1) {
        mark_dead(sequence, "processing did not finish within the deadline of " +
                                std::to_string(options.processing_deadline.count()) + " ms");
        co_return;
    }
    auto& outcome = std::get<0>(raced);
    if (!outcome.failure.empty()) {
        mark_dead(sequence, outcome.failure);
        co_return;
    }

    std::vector<port::entity> upserts;
    std::vector<port::entity> deletes;
    std::vector<std::string> mapping_errors;
    for (auto& [resource_index, results] : outcome.results) {
        auto updated = entity_mapper->map_resource(resource_index, results.updated);
        auto removed = entity_mapper->map_resource(resource_index, results.deleted);
        for (auto const& m : updated.misconfigured)
            spdlog::warn("live events: event {}: kind '{}' field {} is misconfigured: {}", sequence, m.kind, m.path,
                         m.message);
        mapping_errors.insert(mapping_errors.end(), updated.errors.begin(), updated.errors.end());
        mapping_errors.insert(mapping_errors.end(), removed.errors.begin(), removed.errors.end());
        std::move(updated.passed.begin(), updated.passed.end(), std::back_inserter(upserts));
        // Items that no longer pass the selector leave the catalog. Items the processor reports as
        // deleted are deleted whatever the selector returns, because a deleted object's payload often
        // lacks the fields the selector reads.
        std::move(updated.failed.begin(), updated.failed.end(), std::back_inserter(deletes));
        std::move(removed.passed.begin(), removed.passed.end(), std::back_inserter(deletes));
        std::move(removed.failed.begin(), removed.failed.end(), std::back_inserter(deletes));
    }
    if (!mapping_errors.empty()) {
        mark_dead(sequence, "mapping failed: " + mapping_errors.front());
        co_return;
    }
    std::set<std::string> kept;
    for (auto const& e : upserts)
        kept.insert(key_of(e));
    std::erase_if(deletes, [&](port::entity const& e) { return kept.contains(key_of(e)); });
    submit_writes(tracked, std::move(upserts), std::move(deletes));
}

asio::awaitable<std::vector<std::pair<std::size_t, event_results>>> processor_manager::impl::run_processors(
    std::shared_ptr<tracked_event> tracked, std::shared_ptr<mapping::entity_processor const> entity_mapper)
{
    std::vector<std::pair<std::size_t, event_results>> results;
    auto const& resources = entity_mapper->config().resources;
    auto const registered = processors.find(tracked->event.path);
    if (registered == processors.end())
        throw event_failure("no processor is registered for path '" + tracked->event.path + "'");
    for (auto const& processor : registered->second) {
        if (!co_await processor->should_process_event(tracked->event))
            continue;
        auto const kinds = co_await processor->get_matching_kinds(tracked->event);
        for (std::size_t i = 0; i < resources.size(); ++i) {
            if (std::find(kinds.begin(), kinds.end(), resources[i].kind) == kinds.end())
                continue;
            auto produced = co_await handle_with_retries(processor, tracked, resources[i]);
            results.emplace_back(i, std::move(produced));
        }
    }
    co_return results;
}

asio::awaitable<event_results> processor_manager::impl::handle_with_retries(
    std::shared_ptr<webhook_processor> processor, std::shared_ptr<tracked_event> tracked,
    mapping::resource_config const& resource)
{
    auto const policy = processor->handler_retry_policy().value_or(options.handler_retry);
    auto const first_attempt = clock_type::now();
    asio::steady_timer pause(strand);
    for (unsigned attempt = 1;; ++attempt) {
        ++tracked->attempts;
        std::exception_ptr failure;
        std::string message;
        try {
            co_return co_await processor->handle_event(tracked->event, resource);
        } catch (permanent_error const&) {
            throw;
        } catch (boost::system::system_error const& e) {
            if (e.code() == asio::error::operation_aborted)
                throw;
            failure = std::current_exception();
            message = e.what();
        } catch (std::exception const& e) {
            failure = std::current_exception();
            message = e.what();
        }
        auto const elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - first_attempt);
        auto const delay = policy.next_delay(attempt + 1, elapsed, std::nullopt, unit_random());
        if (!delay) {
            spdlog::warn("live events: event {} (delivery '{}'), kind '{}': attempt {} failed and no retry is left: {}",
                         tracked->event.sequence, tracked->event.delivery_id, resource.kind, attempt, message);
            std::rethrow_exception(failure);
        }
        metrics.retries++;
        spdlog::warn("live events: event {} (delivery '{}'), kind '{}': attempt {} failed, retrying in {} ms: {}",
                     tracked->event.sequence, tracked->event.delivery_id, resource.kind, attempt, delay->count(),
                     message);
        pause.expires_after(*delay);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

void processor_manager::impl::submit_writes(std::shared_ptr<tracked_event> const& tracked,
                                            std::vector<port::entity> upserts, std::vector<port::entity> deletes)
{
    auto const sequence = tracked->event.sequence;
    tracked->outstanding_writes = upserts.size() + deletes.size();
    if (tracked->outstanding_writes == 0) {
        finish(sequence);
        return;
    }
    auto add = [&](port::entity entity, bool is_delete) {
        // A later write to the same entity replaces the earlier one: the earlier event's waiters
        // then complete when the newer state is written, which is the state they led to anyway.
        auto& slot = window[key_of(entity)];
        slot.is_delete = is_delete;
        slot.entity = std::move(entity);
        slot.waiters.push_back(sequence);
    };
    for (auto& e : deletes)
        add(std::move(e), true);
    for (auto& e : upserts)
        add(std::move(e), false);
    writer_signal.cancel();
}

// Sends one window at a time, so writes to one entity reach Port in the order they were made.
asio::awaitable<void> processor_manager::impl::writer()
{
    auto self = shared_from_this();
    asio::steady_timer gather(strand);
    while (!aborting) {
        if (window.empty()) {
            writer_signal.expires_at(clock_type::time_point::max());
            co_await writer_signal.async_wait(use_tuple);
            continue;
        }
        if (window.size() < options.coalesce_max_entities && options.coalesce_window.count() > 0) {
            gather.expires_after(options.coalesce_window);
            co_await gather.async_wait(use_tuple);
        }
        auto batch_to_send = std::exchange(window, {});
        writing = true;
        bool const sent = co_await send_window(batch_to_send);
        writing = false;
        if (!sent)
            co_return;
    }
}

asio::awaitable<bool> processor_manager::impl::send_window(std::map<std::string, pending_write>& batch_to_send)
{
    std::vector<port::entity> upserts;
    std::vector<port::entity> deletes;
    for (auto const& [key, write] : batch_to_send)
        (write.is_delete ? deletes : upserts).push_back(write.entity);

    auto const entity_mapper = mapper;
    port::upsert_options upsert_options;
    upsert_options.merge = entity_mapper->config().enable_merge_entity;
    upsert_options.create_missing_related_entities = entity_mapper->config().create_missing_related_entities;
    port::delete_options delete_options;
    delete_options.delete_dependents = entity_mapper->config().delete_dependent_entities;

    std::map<std::string, std::string> rejected;
    auto const first_attempt = clock_type::now();
    asio::steady_timer pause(strand);
    for (unsigned attempt = 1; !upserts.empty() || !deletes.empty(); ++attempt) {
        metrics.port_write_batches++;
        boost::system::error_code error;
        if (!deletes.empty()) {
            auto [ec, result] = co_await port.async_delete_entities(deletes, delete_options, use_tuple);
            if (!ec) {
                for (auto const& f : result.failures)
                    rejected[f.blueprint + "/" + f.identifier] = f.message.empty() ? f.error : f.message;
                deletes.clear();
            }
            error = ec;
        }
        if (!upserts.empty() && !aborting) {
            auto [ec, result] = co_await port.async_upsert_entities(upserts, upsert_options, use_tuple);
            if (!ec) {
                for (auto const& f : result.failures)
                    rejected[f.blueprint + "/" + f.identifier] = f.message.empty() ? f.error : f.message;
                upserts.clear();
            }
            if (ec)
                error = ec;
        }
        if (aborting)
            co_return false; // the events stay in the inbox for the next start
        if (!error)
            break;

        // NOTE: the Port client retries a transient failure for about 100 s before it returns an
        // error, so no test reaches this resend loop (the 30 s outage test is absorbed by the client).
        metrics.port_write_failures++;
        auto const elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - first_attempt);
        auto const delay = options.port_retry.next_delay(attempt + 1, elapsed, std::nullopt, unit_random())
                               .value_or(options.port_retry.max_delay);
        spdlog::warn("live events: writing {} upserts and {} deletes to Port failed ({}); attempt {}, next in {} ms",
                     upserts.size(), deletes.size(), error.message(), attempt, delay.count());
        pause.expires_after(delay);
        co_await pause.async_wait(use_tuple);
        if (aborting)
            co_return false;
    }

    for (auto const& [key, write] : batch_to_send) {
        auto const failed = rejected.find(key);
        for (auto const sequence : write.waiters) {
            auto it = events.find(sequence);
            if (it == events.end())
                continue;
            auto& tracked = *it->second;
            if (failed != rejected.end() && tracked.write_failure.empty())
                tracked.write_failure = "Port rejected " + key + ": " + failed->second;
            if (tracked.outstanding_writes > 0 && --tracked.outstanding_writes == 0)
                finish(sequence);
        }
    }
    co_return true;
}

void processor_manager::impl::finish(std::uint64_t sequence)
{
    auto it = events.find(sequence);
    if (it == events.end())
        return;
    if (!it->second->write_failure.empty())
        mark_dead(sequence, it->second->write_failure);
    else
        mark_applied(sequence);
}

void processor_manager::impl::mark_applied(std::uint64_t sequence)
{
    auto it = events.find(sequence);
    if (it == events.end())
        return;
    auto const& event = it->second->event;
    metrics.applied(system_clock::now() - event.accepted_at);
    if (!event.delivery_id.empty()) {
        auto const now = system_clock::now();
        deliveries[event.delivery_id] = {delivery_state::status::applied, sequence, now};
        applied_order.emplace_back(now, event.delivery_id);
    }
    events.erase(it);
    metrics.inbox_depth = events.size();
    // The applied marker is written without its own fdatasync: losing it in a crash only makes the
    // next start apply the event again, and Port upserts and deletes are idempotent.
    append_log(encode_marker(record_type::applied, sequence), false);
}

void processor_manager::impl::mark_dead(std::uint64_t sequence, std::string reason)
{
    auto it = events.find(sequence);
    if (it == events.end())
        return;
    dead_letter_info info;
    info.failed_at = system_clock::now();
    info.attempts = it->second->attempts;
    info.reason = std::move(reason);
    auto event = std::move(it->second->event);
    events.erase(it);
    spdlog::error("live events: event {} (delivery '{}', path {}) moved to the dead letters after {} attempts: {}",
                  sequence, event.delivery_id, event.path, info.attempts, info.reason);
    if (!event.delivery_id.empty())
        deliveries[event.delivery_id] = {delivery_state::status::dead, sequence, info.failed_at};
    append_log(encode_dead(sequence, info), true);
    dead.emplace(sequence, std::make_pair(std::move(event), std::move(info)));
    metrics.dead_lettered++;
    metrics.inbox_depth = events.size();
    metrics.dead_letters = dead.size();
}

} // namespace ocean::live_events
