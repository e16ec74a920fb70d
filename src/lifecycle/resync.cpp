// Full resync: extraction through resync handlers, mapping, bulk upserts and reconciliation.
#include "detail/launch.hpp"
#include "lifecycle/integration_impl.hpp"

#include <ocean/error.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

namespace ocean {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

// Stored per kind; the rest is only counted, so a kind whose every entity fails stays small.
constexpr std::size_t max_failures_kept = 100;

std::string entity_key(std::string_view blueprint, std::string_view identifier)
{
    std::string key;
    key.reserve(blueprint.size() + identifier.size() + 1);
    key.append(blueprint).append(1, '\n').append(identifier);
    return key;
}

// Unwraps what awaitable operators throw when both sides failed.
std::exception_ptr first_cause(std::exception_ptr failure)
{
    for (;;) {
        try {
            std::rethrow_exception(failure);
        } catch (asio::multiple_exceptions const& e) {
            failure = e.first_exception();
            continue;
        } catch (...) {
            return failure;
        }
    }
}

bool is_cancellation(std::exception_ptr const& failure)
{
    try {
        std::rethrow_exception(first_cause(failure));
    } catch (boost::system::system_error const& e) {
        return e.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

std::pair<std::string, boost::system::error_code> describe(std::exception_ptr const& failure)
{
    try {
        std::rethrow_exception(first_cause(failure));
    } catch (boost::system::system_error const& e) {
        return {e.what(), e.code()};
    } catch (config_error const& e) {
        return {e.what(), make_error_code(error::invalid_config)};
    } catch (std::exception const& e) {
        return {e.what(), make_error_code(error::protocol_error)};
    } catch (...) {
        return {"unknown exception", make_error_code(error::protocol_error)};
    }
}

char const* status_name(resync_result::state s)
{
    switch (s) {
    case resync_result::state::completed:
        return "completed";
    case resync_result::state::failed:
        return "failed";
    case resync_result::state::aborted:
        return "aborted";
    }
    return "failed";
}

} // namespace

std::string iso_time(std::chrono::system_clock::time_point time)
{
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    auto const seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    // 64 bytes: GCC cannot bound the tm fields and warns for anything smaller.
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
    return text;
}

std::string const& batch_sink::kind() const noexcept
{
    return impl_->kind;
}

void batch_sink::write_impl(raw_batch batch, asio::any_completion_handler<void(boost::system::error_code)> h)
{
    // Through launch(): the channel cannot complete a type-erased handler in Boost 1.81, and
    // launch() keeps the handler's executor and cancellation slot.
    auto send = [](impl* state, raw_batch items) -> asio::awaitable<void> {
        co_await state->channel.async_send(boost::system::error_code{}, std::move(items), asio::use_awaitable);
    };
    detail::launch(impl_->channel.get_executor(), send(impl_, std::move(batch)), std::move(h));
}

asio::awaitable<void> integration::impl::wait_resync_idle()
{
    while (current_resync && !current_resync->finished) {
        auto const run = current_resync;
        co_await run->done.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> integration::impl::wait_cancel(std::shared_ptr<resync_run> run)
{
    if (!run->cancel_requested)
        co_await run->cancel_timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<resync_result> integration::impl::sync_raw_all()
{
    auto self = shared_from_this();
    if (stopping)
        throw boost::system::system_error(make_error_code(error::stopping), "the integration is stopping");
    if (!processor)
        throw boost::system::system_error(make_error_code(error::stopping),
                                          "the integration has not finished startup; no port-app-config yet");

    auto run = std::make_shared<resync_run>(strand);
    auto previous = std::exchange(current_resync, run);
    // Marks the run finished on every path out of this frame, exceptions and destruction included,
    // so later resyncs and stop() never wait for it forever.
    struct finish_guard {
        std::shared_ptr<resync_run> run;
        ~finish_guard()
        {
            run->finished = true;
            try {
                run->done.cancel();
            } catch (...) {
                // Cancelling a timer fails only when the reactor is gone; nobody waits then.
            }
        }
    } guard{run};

    auto const start = iso_time(std::chrono::system_clock::now());
    resync_result result;
    std::exception_ptr interrupted;
    try {
        if (previous && !previous->finished) {
            spdlog::info("a new resync was requested; cancelling the running one");
            previous->cancel();
            co_await previous->done.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (run->cancel_requested || stopping) {
            // Superseded while it waited for the previous one: it never started.
            result.status = resync_result::state::aborted;
            result.reconciliation_note = "cancelled before it started";
        } else {
            spdlog::info("resync started at {}", start);
            co_await report_resync_state("running", start, std::nullopt);
            auto outcome = co_await (guarded_resync(start) || wait_cancel(run));
            if (outcome.index() == 0) {
                result = std::move(std::get<0>(outcome));
            } else {
                result.status = resync_result::state::aborted;
                result.reconciliation_note = "cancelled by a newer resync or by stop(); nothing was deleted";
            }
        }
    } catch (...) {
        // Only the caller's cancellation reaches here: guarded_resync catches everything else.
        interrupted = std::current_exception();
    }
    if (interrupted) {
        result.status = resync_result::state::aborted;
        result.reconciliation_note = "cancelled; nothing was deleted";
    }

    // The caller's own cancellation may have ended the race; Port must still learn the outcome.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    auto const end = iso_time(std::chrono::system_clock::now());
    co_await report_resync_state(status_name(result.status), start, end);
    if (result.status == resync_result::state::completed) {
        for (std::size_t i = 0; i < resync_complete_hooks.size(); ++i) {
            std::exception_ptr failure;
            try {
                co_await resync_complete_hooks[i]();
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure)
                spdlog::error("on_resync_complete hook {} failed: {}", i + 1, describe(failure).first);
        }
    }

    std::size_t upserted = 0;
    for (auto const& k : result.kinds)
        upserted += k.upserted;
    spdlog::info("resync {}: {} kinds, {} entities upserted, {} stale, {} deleted{}{}", status_name(result.status),
                 result.kinds.size(), upserted, result.stale, result.deleted,
                 result.reconciliation_note.empty() ? "" : "; ", result.reconciliation_note);

    co_return result;
}

asio::awaitable<resync_result> integration::impl::guarded_resync(std::string start)
{
    resync_result result;
    std::exception_ptr failure;
    try {
        co_await resync_body(result, start);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (is_cancellation(failure)) {
            result.status = resync_result::state::aborted;
            result.reconciliation_note = "cancelled; nothing was deleted";
        } else {
            auto const [message, code] = describe(failure);
            spdlog::error("resync failed: {}", message);
            result.status = resync_result::state::failed;
            result.reconciliation_note = "failed: " + message;
        }
    }
    co_return result;
}

asio::awaitable<void> integration::impl::resync_body(resync_result& result, std::string const& start)
{
    // Without a known catalog state, deleting would be a guess.
    bool state_known = true;
    for (std::size_t i = 0; i < resync_start_hooks.size(); ++i) {
        std::exception_ptr failure;
        try {
            co_await resync_start_hooks[i]();
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            if (is_cancellation(failure))
                std::rethrow_exception(failure);
            spdlog::error("on_resync_start hook {} failed: {}; this resync will delete nothing", i + 1,
                          describe(failure).first);
            state_known = false;
        }
    }

    resync_work work;
    for (auto const& resource : processor->config().resources)
        if (std::find(work.kinds.begin(), work.kinds.end(), resource.kind) == work.kinds.end())
            work.kinds.push_back(resource.kind);
    work.results.resize(work.kinds.size());

    auto const workers = std::min(std::max<std::size_t>(config.resync_kind_concurrency, 1), work.kinds.size());
    if (workers > 0) {
        // Workers take kinds in port-app-config order; each catches its kind's failure, so only
        // cancellation ends the group early.
        auto all = kind_worker(&work);
        for (std::size_t i = 1; i < workers; ++i)
            all = std::move(all) && kind_worker(&work);
        co_await std::move(all);
    }
    result.kinds = std::move(work.results);

    bool any_failed = false;
    for (auto const& k : result.kinds)
        any_failed = any_failed || k.error.has_value();
    if (any_failed) {
        result.status = resync_result::state::failed;
        result.reconciliation_note = "a kind failed, so no entity was deleted";
        spdlog::warn("resync: at least one kind failed; skipping the delete phase");
        co_return;
    }
    if (!state_known) {
        result.status = resync_result::state::failed;
        result.reconciliation_note = "an on_resync_start hook failed, so no entity was deleted";
        co_return;
    }
    co_await reconcile(result, work, start);
}

asio::awaitable<void> integration::impl::kind_worker(resync_work* work)
{
    while (work->next < work->kinds.size()) {
        auto const index = work->next++;
        work->results[index] = co_await resync_kind(work->kinds[index], work);
    }
}

asio::awaitable<kind_result> integration::impl::resync_kind(std::string kind, resync_work* work)
{
    kind_result result;
    result.kind = kind;
    std::vector<resync_handler const*> handlers;
    for (auto const& h : resync_handlers)
        if (h.kind.empty() || h.kind == kind)
            handlers.push_back(&h);
    if (handlers.empty()) {
        result.error = "no on_resync handler for kind '" + kind + "'";
        result.code = make_error_code(error::unknown_kind);
        spdlog::error("resync: {}; the resync will delete nothing", *result.error);
        co_return result;
    }

    spdlog::info("resync: kind '{}' started", kind);
    std::exception_ptr failure;
    try {
        for (auto const* handler : handlers) {
            if (handler->batch) {
                auto items = co_await handler->batch(kind);
                co_await write_batch(kind, std::move(items), result, work);
            } else {
                // Capacity 0: a write completes when the consumer takes the batch.
                batch_sink::impl sink(kind, strand);
                co_await (produce(handler->stream, &sink) && consume(&sink, &result, work));
            }
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (is_cancellation(failure))
            std::rethrow_exception(failure);
        auto [message, code] = describe(failure);
        result.error = std::move(message);
        result.code = code;
        spdlog::error("resync: kind '{}' failed after {} items: {}", kind, result.items, *result.error);
        co_return result;
    }
    spdlog::info("resync: kind '{}' done: {} items, {} upserted, {} skipped, {} rejected by Port", kind,
                 result.items, result.upserted, result.skipped, result.failures.size());
    co_return result;
}

asio::awaitable<void> integration::impl::produce(resync_stream_handler const& handler, batch_sink::impl* sink)
{
    batch_sink facade(*sink);
    co_await handler(sink->kind, facade);
    sink->channel.close();
}

asio::awaitable<void> integration::impl::consume(batch_sink::impl* sink, kind_result* result, resync_work* work)
{
    for (;;) {
        auto [ec, batch] = co_await sink->channel.async_receive(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::experimental::error::channel_closed)
            co_return;
        if (ec)
            throw boost::system::system_error(ec, "resync of kind '" + sink->kind + "'");
        co_await write_batch(sink->kind, std::move(batch), *result, work);
    }
}

asio::awaitable<void> integration::impl::write_batch(std::string const& kind, raw_batch items, kind_result& result,
                                                     resync_work* work)
{
    result.items += items.size();
    auto mapped = processor->map(kind, items);
    // The raw items are no longer needed; only the entities travel on.
    raw_batch().swap(items);

    for (auto const& m : mapped.misconfigured)
        spdlog::warn("kind '{}': field {} is misconfigured: {}", m.kind, m.path, m.message);
    if (!mapped.errors.empty()) {
        for (auto const& e : mapped.errors)
            spdlog::error("kind '{}': {}", kind, e);
        if (!result.error) {
            result.error = mapped.errors.front();
            result.code = make_error_code(error::jq_error);
        }
    }
    result.skipped += mapped.skipped + mapped.failed.size();

    for (auto const& e : mapped.passed)
        if (e.has_string_identifier())
            work->produced.insert(entity_key(e.blueprint, e.identifier.get_string()));
    if (mapped.passed.empty())
        co_return;

    port::upsert_options options;
    options.merge = processor->config().enable_merge_entity;
    options.create_missing_related_entities = processor->config().create_missing_related_entities;
    options.event_type = "resync";
    auto written = co_await port.async_upsert_entities(std::move(mapped.passed), options, asio::use_awaitable);
    result.upserted += written.succeeded;
    for (auto& f : written.failures) {
        if (result.failures.size() < max_failures_kept)
            result.failures.push_back(std::move(f));
    }
    if (!written.failures.empty())
        spdlog::warn("kind '{}': Port rejected {} entities of a batch; first: {}/{}: {}", kind,
                     written.failures.size(), written.failures.front().blueprint, written.failures.front().identifier,
                     written.failures.front().message);
}

asio::awaitable<void> integration::impl::reconcile(resync_result& result, resync_work& work, std::string const& start)
{
    // Entities of this integration's exporter datasource that Port last changed before the
    // resync started: entities written by this resync or by live events meanwhile are not listed.
    json::object query;
    query["datasource_prefix"] = "port-ocean/" + config.integration_type + "/";
    query["datasource_suffix"] = "/" + config.integration_identifier + "/exporter";
    query["limit"] = 5000;
    query["before"] = start;

    std::vector<port::entity> stale;
    std::size_t listed = 0;
    for (;;) {
        std::optional<json::value> body = json::value(query);
        auto response = co_await port.async_call("POST", "/blueprints/entities/datasource-entities", std::move(body),
                                                 true, asio::use_awaitable);
        if (response.status != 200)
            throw boost::system::system_error(make_error_code(error::port_rejected),
                                              "listing this integration's entities (datasource-entities) returned HTTP " +
                                                  std::to_string(response.status) + ": " + response.body.substr(0, 300));
        auto const page = json::parse(response.body);
        auto const* entities = page.as_object().if_contains("entities");
        if (entities == nullptr || !entities->is_array())
            throw boost::system::system_error(make_error_code(error::protocol_error),
                                              "datasource-entities returned no \"entities\" array");
        for (auto const& item : entities->get_array()) {
            ++listed;
            auto const& blueprint = item.at("blueprint").as_string();
            auto const& identifier = item.at("identifier");
            if (!identifier.is_string())
                continue;
            if (work.produced.contains(entity_key(blueprint, identifier.get_string())))
                continue;
            port::entity e;
            e.blueprint = std::string(blueprint);
            e.identifier = identifier;
            stale.push_back(std::move(e));
        }
        auto const* next = page.as_object().if_contains("next");
        if (next == nullptr || next->is_null())
            break;
        query["from"] = *next;
    }

    result.stale = stale.size();
    if (stale.empty()) {
        result.reconciled = true;
        co_return;
    }

    // The share is taken over the entities the integration owns now: the stale ones plus those
    // this resync produced. Entities changed only by live events during the resync are not
    // counted, so the share errs on the high side, which skips deletion sooner.
    auto const total = stale.size() + work.produced.size();
    auto const share = static_cast<double>(stale.size()) / static_cast<double>(total);
    auto const threshold = processor->config().entity_deletion_threshold;
    if (share > threshold) {
        result.reconciliation_note = "skipping deletion: " + std::to_string(stale.size()) + " of " +
                                     std::to_string(total) + " entities are stale, above entityDeletionThreshold " +
                                     std::to_string(threshold);
        spdlog::warn("resync: {}", result.reconciliation_note);
        co_return;
    }

    spdlog::info("resync: deleting {} stale entities ({} listed as untouched)", stale.size(), listed);
    port::delete_options options;
    options.delete_dependents = processor->config().delete_dependent_entities;
    options.event_type = "resync";
    auto removed = co_await port.async_delete_entities(std::move(stale), options, asio::use_awaitable);
    result.deleted = removed.succeeded;
    result.reconciled = true;
    if (!removed.failures.empty())
        spdlog::warn("resync: Port did not delete {} stale entities; first: {}/{}: {}", removed.failures.size(),
                     removed.failures.front().blueprint, removed.failures.front().identifier,
                     removed.failures.front().message);
}

asio::awaitable<void> integration::impl::report_resync_state(std::string status, std::string const& start,
                                                             std::optional<std::string> end)
{
    json::object body;
    body["status"] = status;
    body["lastResyncStart"] = start;
    body["lastResyncEnd"] = end ? json::value(*end) : json::value(nullptr);
    // Port's API spells the interval field this way. Only POLLING resyncs on a schedule; its next
    // check of the resync request comes one interval after this report.
    if (config.event_listener_type == "POLLING") {
        body["intervalInMinuets"] = static_cast<double>(config.polling_interval.count()) / 60'000.0;
        body["nextResync"] = end ? json::value(iso_time(std::chrono::system_clock::now() + config.polling_interval))
                                 : json::value(nullptr);
    } else {
        body["intervalInMinuets"] = nullptr;
        body["nextResync"] = nullptr;
    }

    std::optional<json::value> payload = json::value(std::move(body));
    auto const path = "/integration/" + config.integration_identifier + "/resync-state";
    auto [ec, response] =
        co_await port.async_call("PATCH", path, std::move(payload), true, asio::as_tuple(asio::use_awaitable));
    if (ec)
        spdlog::warn("reporting resync state '{}' to Port failed: {}", status, ec.message());
    else if (response.status >= 300)
        spdlog::warn("reporting resync state '{}' to Port returned HTTP {}: {}", status, response.status,
                     response.body.substr(0, 300));
}

} // namespace ocean
