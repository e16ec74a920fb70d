#include <ocean/error.hpp>
#include <ocean/port/client.hpp>

#include "detail/launch.hpp"
#include "port/token_lifetime.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <spdlog/spdlog.h>

#include <ctime>
#include <functional>
#include <map>
#include <utility>

namespace ocean::port {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

std::string encode_segment(std::string_view s)
{
    return boost::urls::encode(s, boost::urls::pchars);
}

std::string encode_query_value(std::string_view s)
{
    boost::urls::encoding_opts opts;
    return boost::urls::encode(s, boost::urls::unreserved_chars, opts);
}

// Returns Port's message from an error body, or the body itself when it is not Port's shape.
std::string port_message(http::client_response const& r)
{
    boost::system::error_code ec;
    auto const v = json::parse(r.body, ec);
    if (!ec && v.is_object()) {
        auto const& o = v.get_object();
        std::string out;
        if (auto const* e = o.if_contains("error"); e && e->is_string())
            out += std::string(e->get_string());
        if (auto const* m = o.if_contains("message"); m && m->is_string())
            out += (out.empty() ? "" : ": ") + std::string(m->get_string());
        if (!out.empty())
            return out;
    }
    return r.body.substr(0, 500);
}

std::string trace_id(http::client_response const& r)
{
    return std::string(r.header("x-trace-id").value_or("-"));
}

// Built outside the coroutines: GCC 12 rejects braced aggregates with string literals inside them.
entity_failure make_failure(std::string blueprint, std::string identifier, unsigned status, std::string error,
                            std::string message)
{
    entity_failure f;
    f.blueprint = std::move(blueprint);
    f.identifier = std::move(identifier);
    f.status = status;
    f.error = std::move(error);
    f.message = std::move(message);
    return f;
}

bool transient(unsigned status)
{
    return status == 408 || status == 429 || status >= 500;
}

// Logs a failed Port response with its trace id and throws the error the operation completes
// with: port_unavailable for statuses worth retrying later, port_rejected for the others.
[[noreturn]] void fail(http::client_response const& response, std::string const& operation)
{
    auto const code = make_error_code(transient(response.status) ? error::port_unavailable : error::port_rejected);
    auto message = operation + ": HTTP " + std::to_string(response.status) + " " + port_message(response) +
                   " (x-trace-id " + trace_id(response) + ")";
    spdlog::error("Port {}", message);
    throw boost::system::system_error(code, message);
}

// Returns the response body as a JSON object; a body of another shape is a protocol error.
json::object parse_object(http::client_response const& response, std::string const& operation)
{
    boost::system::error_code ec;
    auto parsed = json::parse(response.body, ec);
    if (ec || !parsed.is_object()) {
        spdlog::error("Port {}: HTTP {} with a body that is not a JSON object (x-trace-id {})", operation,
                      response.status, trace_id(response));
        throw boost::system::system_error(make_error_code(error::protocol_error),
                                          operation + ": response is not a JSON object");
    }
    return std::move(parsed.get_object());
}

// Formats a time as Port expects it: ISO 8601 in UTC with milliseconds, e.g. 2025-01-31T08:00:00.000Z.
std::string format_iso_time(std::chrono::system_clock::time_point time)
{
    auto const millis = std::chrono::floor<std::chrono::milliseconds>(time).time_since_epoch().count();
    auto seconds = static_cast<std::time_t>(millis / 1000);
    auto fraction = millis % 1000;
    if (fraction < 0) {
        fraction += 1000;
        --seconds;
    }
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    return fmt::format("{}.{:03}Z", text, fraction);
}

json::value optional_time(std::optional<std::chrono::system_clock::time_point> const& time)
{
    return time ? json::value(format_iso_time(*time)) : json::value(nullptr);
}

std::string_view status_name(resync_status status)
{
    switch (status) {
    case resync_status::running: return "running";
    case resync_status::completed: return "completed";
    case resync_status::failed: return "failed";
    case resync_status::aborted: return "aborted";
    }
    return "running";
}

std::string_view agent_name(user_agent_type agent)
{
    return agent == user_agent_type::gitops ? "gitops" : "exporter";
}

// The ocean_info_* query parameters that Port's audit log filters on.
std::string event_query(std::string const& event_type, std::string const& resync_id)
{
    auto query = "&ocean_info_event_type=" + encode_query_value(event_type);
    if (!resync_id.empty())
        query += "&ocean_info_resync_id=" + encode_query_value(resync_id);
    return query;
}

std::string upsert_query(upsert_options const& options)
{
    return std::string("upsert=true&merge=") + (options.merge ? "true" : "false") +
           "&create_missing_related_entities=" + (options.create_missing_related_entities ? "true" : "false") +
           event_query(options.event_type, options.resync_id);
}

asio::awaitable<void> throw_if_cancelled()
{
    auto const state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
}

// Like detail::launch, but the coroutine returns the error_code itself next to its value, so a
// failed batch write can still hand its partial result (done, failures, pending) to the caller.
template <class T>
void launch_with_partial_result(asio::any_io_executor executor,
                                asio::awaitable<std::pair<boost::system::error_code, T>> body,
                                asio::any_completion_handler<void(boost::system::error_code, T)> handler)
{
    auto bound = detail::launch_detail::bind_associations(executor, std::move(handler), [](auto owned) {
        return [owned = std::move(owned)](std::exception_ptr failure,
                                          std::pair<boost::system::error_code, T> outcome) mutable {
            if (failure) {
                std::move(owned)(detail::exception_to_error_code(failure), T{});
                return;
            }
            std::move(owned)(outcome.first, std::move(outcome.second));
        };
    });
    asio::co_spawn(executor, detail::launch_detail::with_full_cancellation(std::move(body)), std::move(bound));
}

// The entities of one bulk request and what Port made of them.
struct write_batch {
    std::string const* blueprint = nullptr;
    std::vector<entity const*> entities;
    // settled[i]: Port confirmed entities[i] as stored, deleted or rejected.
    std::vector<bool> settled;
    write_result result;

    void succeed(std::size_t index)
    {
        settled[index] = true;
        ++result.succeeded;
        result.done.push_back(*blueprint + "/" + entities[index]->identifier_text());
    }

    void reject(std::size_t index, entity_failure failure)
    {
        settled[index] = true;
        result.failures.push_back(std::move(failure));
    }
};

// Batches that workers take one at a time; the first error stops new batches from starting.
struct batch_queue {
    std::vector<write_batch>* batches = nullptr;
    std::size_t next = 0;
    std::size_t end = 0;
    boost::system::error_code error;
    std::string error_text;
};

using batch_writer = std::function<asio::awaitable<void>(write_batch&)>;

asio::awaitable<void> batch_worker(batch_queue& queue, batch_writer const& write)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    while (!queue.error && queue.next < queue.end) {
        auto& batch = (*queue.batches)[queue.next++];
        try {
            co_await write(batch);
        } catch (boost::system::system_error const& e) {
            if (!queue.error) {
                queue.error = e.code();
                queue.error_text = e.what();
            }
        }
    }
}

// Puts the batches' results together in batch order and lists what Port never confirmed.
write_result merge_batches(std::vector<write_batch>& batches)
{
    write_result merged;
    for (auto& batch : batches) {
        merged.succeeded += batch.result.succeeded;
        for (auto& failure : batch.result.failures)
            merged.failures.push_back(std::move(failure));
        for (auto& done : batch.result.done)
            merged.done.push_back(std::move(done));
        for (std::size_t i = 0; i < batch.entities.size(); ++i)
            if (!batch.settled[i])
                merged.pending.push_back(*batch.entities[i]);
    }
    return merged;
}

} // namespace

struct client::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, client_config cfg)
        : executor(ex),
          strand(asio::make_strand(ex)),
          config(std::move(cfg)),
          http(strand, config.http),
          slots(strand, config.max_concurrent_requests == 0 ? 1 : config.max_concurrent_requests),
          refresh_done(strand)
    {
        while (!config.base_url.empty() && config.base_url.back() == '/')
            config.base_url.pop_back();
    }

    asio::any_io_executor executor;
    asio::strand<asio::any_io_executor> strand;
    client_config config;
    http::client http;
    // A bounded channel used as a counting semaphore: a send takes a slot, a receive frees it.
    asio::experimental::channel<void(boost::system::error_code)> slots;

    std::string authorization;
    // When the current token is due for a refresh: its expiry minus the refresh margin.
    clock_type::time_point refresh_at{};
    bool refreshing = false;
    // Counts finished refreshes, so a waiter can tell a finished refresh from a spurious wake-up.
    std::uint64_t refresh_generation = 0;
    boost::system::error_code refresh_error;
    // Callers that need a token while a refresh runs wait on this timer; the refresher cancels it.
    asio::steady_timer refresh_done;

    std::string user_agent(user_agent_type agent) const
    {
        return "port-ocean/" + config.integration_type + "/" + config.integration_version + "/" +
               config.integration_identifier + "/" + std::string(agent_name(agent));
    }

    std::string integration_path() const { return "/integration/" + encode_segment(config.integration_identifier); }

    void start_refresh();
    asio::awaitable<void> refresh();
    void finish_refresh(boost::system::error_code ec);
    asio::awaitable<std::string> token(std::string const* rejected);
    asio::awaitable<http::client_response> send(std::string method, std::string path, std::optional<json::value> body,
                                                bool retryable, user_agent_type agent = user_agent_type::exporter,
                                                http::fields extra_headers = {});
    asio::awaitable<std::optional<json::object>> request_object(std::string method, std::string path,
                                                                std::optional<json::value> body, bool retryable,
                                                                std::string member, bool missing_is_empty,
                                                                http::fields extra_headers = {});
    asio::awaitable<std::vector<entity_ref>> datasource_entities(datasource_query query);
    asio::awaitable<std::vector<json::object>> search(json::object query, search_options options);

    asio::awaitable<boost::system::error_code> run_batches(std::vector<write_batch>& batches, std::size_t first,
                                                           std::size_t last, batch_writer const& write,
                                                           std::string& failure);
    asio::awaitable<std::pair<boost::system::error_code, write_result>> upsert(std::vector<entity> entities,
                                                                               upsert_options options);
    asio::awaitable<void> upsert_chunk(write_batch& batch, upsert_options const& options);
    asio::awaitable<void> upsert_single(write_batch& batch, std::size_t index, upsert_options const& options);
    asio::awaitable<std::pair<boost::system::error_code, write_result>> remove(std::vector<entity> entities,
                                                                               delete_options options);
    asio::awaitable<void> remove_batch(write_batch& batch, delete_options const& options);
};

// The refresh runs on its own rather than inside the request that found the token stale, so
// cancelling that request cannot fail the others that wait for the same token.
void client::impl::start_refresh()
{
    refreshing = true;
    refresh_error = {};
    refresh_done.expires_at(clock_type::time_point::max());
    asio::co_spawn(strand, detail::keep_alive(shared_from_this(), refresh()),
                   asio::bind_executor(strand, [self = shared_from_this()](std::exception_ptr failure) {
                       if (failure)
                           self->finish_refresh(detail::exception_to_error_code(failure));
                   }));
}

void client::impl::finish_refresh(boost::system::error_code ec)
{
    refresh_error = ec;
    refreshing = false;
    ++refresh_generation;
    refresh_done.cancel();
}

asio::awaitable<void> client::impl::refresh()
{
    http::client_request request;
    request.method = "POST";
    request.url = config.base_url + "/v1/auth/access_token";
    request.retryable = true;
    request.headers.set("Content-Type", "application/json");
    request.headers.set("User-Agent", user_agent(user_agent_type::exporter));
    request.body = json::serialize(json::object{{"clientId", config.client_id}, {"clientSecret", config.client_secret}});

    auto [ec, response] = co_await http.async_send(std::move(request), asio::as_tuple(asio::use_awaitable));
    if (ec) {
        spdlog::error("Port auth at {} failed: {}", config.base_url, ec.message());
        finish_refresh(ec);
        co_return;
    }
    if (response.status != 200) {
        spdlog::error("Port auth at {} failed for client id '{}': HTTP {} {} (x-trace-id {})", config.base_url,
                      config.client_id, response.status, port_message(response), trace_id(response));
        finish_refresh(make_error_code(response.status == 401 || response.status == 403 ? error::port_auth_failed
                                                                                       : error::port_unavailable));
        co_return;
    }

    auto const parsed = json::parse(response.body, ec);
    auto const* object = ec ? nullptr : parsed.if_object();
    auto const* access = object ? object->if_contains("accessToken") : nullptr;
    if (access == nullptr || !access->is_string()) {
        spdlog::error("Port auth at {}: response has no accessToken (x-trace-id {})", config.base_url,
                      trace_id(response));
        finish_refresh(make_error_code(error::protocol_error));
        co_return;
    }
    std::string type = "Bearer";
    if (auto const* t = object->if_contains("tokenType"); t && t->is_string())
        type = std::string(t->get_string());
    auto const lifetime = detail::token_lifetime(object->if_contains("expiresIn"));
    auto next = type + " " + std::string(access->get_string());
    // Port hands out the same token again until it expires. Refreshing it early once more would
    // only fetch it again, so a token that came back unchanged is used until its expiry.
    auto const margin = next == authorization
                            ? std::chrono::milliseconds(0)
                            : std::min<std::chrono::milliseconds>(config.token_refresh_margin, lifetime / 10);
    authorization = std::move(next);
    refresh_at = clock_type::now() + lifetime - margin;
    spdlog::debug("Port token refreshed; it expires in {} ms", lifetime.count());
    finish_refresh({});
}

asio::awaitable<std::string> client::impl::token(std::string const* rejected)
{
    for (;;) {
        bool const stale = rejected != nullptr && *rejected == authorization;
        if (!authorization.empty() && !stale && clock_type::now() < refresh_at)
            co_return authorization;
        if (!refreshing)
            start_refresh();
        auto const generation = refresh_generation;
        co_await refresh_done.async_wait(asio::as_tuple(asio::use_awaitable));
        co_await throw_if_cancelled();
        if (refresh_generation == generation)
            continue;
        if (refresh_error)
            throw boost::system::system_error(refresh_error, "Port authentication");
        // Port hands out the same token again until it expires, so after a 401 the new token
        // may equal the rejected one. The caller retries once with it either way.
        co_return authorization;
    }
}

asio::awaitable<http::client_response> client::impl::send(std::string method, std::string path,
                                                          std::optional<json::value> body, bool retryable,
                                                          user_agent_type agent, http::fields extra_headers)
{
    co_await slots.async_send(boost::system::error_code{}, asio::use_awaitable);
    struct release {
        impl* self;
        ~release() { self->slots.try_receive([](boost::system::error_code) {}); }
    } guard{this};

    http::client_request request;
    request.method = method;
    request.url = config.base_url + "/v1" + path;
    request.retryable = retryable;
    request.headers = std::move(extra_headers);
    request.headers.set("User-Agent", user_agent(agent));
    request.headers.set("Accept", "application/json");
    if (body) {
        request.headers.set("Content-Type", "application/json");
        request.body = json::serialize(*body);
    }

    auto current = co_await token(nullptr);
    request.headers.set("Authorization", current);
    auto response = co_await http.async_send(request, asio::use_awaitable);
    if (response.status == 401) {
        spdlog::info("Port responded 401 to {} {} (x-trace-id {}); refreshing the token once", method, path,
                     trace_id(response));
        current = co_await token(&current);
        request.headers.set("Authorization", current);
        response = co_await http.async_send(std::move(request), asio::use_awaitable);
    }
    if (response.status == 404)
        spdlog::debug("Port {} {} responded 404: {} (x-trace-id {})", method, path, port_message(response),
                      trace_id(response));
    else if (response.status >= 400)
        spdlog::warn("Port {} {} responded {} after {} attempt(s): {} (x-trace-id {})", method, path, response.status,
                     response.attempts, port_message(response), trace_id(response));
    co_return response;
}

asio::awaitable<std::optional<json::object>> client::impl::request_object(std::string method, std::string path,
                                                                          std::optional<json::value> body,
                                                                          bool retryable, std::string member,
                                                                          bool missing_is_empty,
                                                                          http::fields extra_headers)
{
    auto response = co_await send(method, path, std::move(body), retryable, user_agent_type::exporter,
                                  std::move(extra_headers));
    auto const operation = method + " " + path;
    if (response.status == 404 && missing_is_empty)
        co_return std::nullopt;
    if (response.status != 200 && response.status != 201)
        fail(response, operation);
    auto object = parse_object(response, operation);
    if (auto* inner = object.if_contains(member); inner && inner->is_object())
        co_return std::move(inner->get_object());
    spdlog::error("Port {}: response has no '{}' object (x-trace-id {})", operation, member, trace_id(response));
    throw boost::system::system_error(make_error_code(error::protocol_error),
                                      operation + ": response has no '" + member + "' object");
}

asio::awaitable<std::vector<entity_ref>> client::impl::datasource_entities(datasource_query query)
{
    std::string const path = "/blueprints/entities/datasource-entities";
    auto const page_size = std::clamp<std::size_t>(query.page_size, 1, 5000);
    std::vector<entity_ref> out;
    json::value cursor = nullptr;
    for (;;) {
        json::object body;
        body["datasource_prefix"] = "port-ocean/" + config.integration_type + "/";
        body["datasource_suffix"] = "/" + config.integration_identifier + "/" + std::string(agent_name(query.agent));
        body["limit"] = page_size;
        if (query.before)
            body["before"] = format_iso_time(*query.before);
        if (!cursor.is_null())
            body["from"] = cursor;

        auto response = co_await send("POST", path, json::value(std::move(body)), true, query.agent);
        if (response.status != 200)
            fail(response, "POST " + path);
        auto page = parse_object(response, "POST " + path);
        if (auto const* entities = page.if_contains("entities"); entities && entities->is_array()) {
            for (auto const& item : entities->get_array()) {
                auto const* o = item.if_object();
                auto const* id = o ? o->if_contains("identifier") : nullptr;
                auto const* blueprint = o ? o->if_contains("blueprint") : nullptr;
                if (id && id->is_string() && blueprint && blueprint->is_string())
                    out.push_back(entity_ref{std::string(blueprint->get_string()), std::string(id->get_string())});
            }
        }

        auto const* next = page.if_contains("next");
        if (next == nullptr || next->is_null())
            break;
        if (*next == cursor) {
            spdlog::error("Port POST {} returned the same cursor twice (x-trace-id {})", path, trace_id(response));
            throw boost::system::system_error(make_error_code(error::protocol_error),
                                              "POST " + path + ": the page cursor did not advance");
        }
        cursor = *next;
    }
    co_return out;
}

asio::awaitable<std::vector<json::object>> client::impl::search(json::object query, search_options options)
{
    auto path = std::string("/entities/search?exclude_calculated_properties=") +
                (options.exclude_calculated_properties ? "true" : "false");
    for (auto const& field : options.include)
        path += "&include=" + encode_query_value(field);
    auto response = co_await send("POST", path, json::value(std::move(query)), true);
    if (response.status != 200)
        fail(response, "POST /entities/search");
    auto const found = parse_object(response, "POST /entities/search");
    std::vector<json::object> out;
    if (auto const* entities = found.if_contains("entities"); entities && entities->is_array())
        for (auto const& item : entities->get_array())
            if (auto const* o = item.if_object())
                out.push_back(*o);
    co_return out;
}

// Runs batches[first, last) on up to max_concurrent_requests workers and returns the first error,
// described in `failure` (with Port's trace id when Port responded).
asio::awaitable<boost::system::error_code> client::impl::run_batches(std::vector<write_batch>& batches,
                                                                     std::size_t first, std::size_t last,
                                                                     batch_writer const& write, std::string& failure)
{
    // A parallel group of no operations would never complete.
    if (first >= last)
        co_return boost::system::error_code{};

    batch_queue queue;
    queue.batches = &batches;
    queue.next = first;
    queue.end = last;

    auto const workers = std::min(last - first, std::max<std::size_t>(1, config.max_concurrent_requests));
    using worker_op = decltype(asio::co_spawn(strand, batch_worker(queue, write), asio::deferred));
    std::vector<worker_op> ops;
    ops.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i)
        ops.push_back(asio::co_spawn(strand, batch_worker(queue, write), asio::deferred));

    // The group forwards the caller's cancellation to every worker and waits for all of them.
    auto [order, exceptions] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (auto const& exception : exceptions)
        if (exception)
            std::rethrow_exception(exception);

    auto const state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
        failure = "the operation was cancelled";
        co_return make_error_code(asio::error::operation_aborted);
    }
    failure = queue.error_text;
    co_return queue.error;
}

asio::awaitable<void> client::impl::upsert_single(write_batch& batch, std::size_t index, upsert_options const& options)
{
    auto const& e = *batch.entities[index];
    auto const path = "/blueprints/" + encode_segment(*batch.blueprint) + "/entities?" + upsert_query(options);
    auto response = co_await send("POST", path, json::value(e.to_json()), true, options.agent);
    if (response.status == 200 || response.status == 201) {
        batch.succeed(index);
        co_return;
    }
    if (transient(response.status))
        fail(response, "upsert of " + *batch.blueprint + "/" + e.identifier_text());
    batch.reject(index, make_failure(*batch.blueprint, e.identifier_text(), response.status, "rejected",
                                     port_message(response)));
}

asio::awaitable<void> client::impl::upsert_chunk(write_batch& batch, upsert_options const& options)
{
    auto const& blueprint = *batch.blueprint;
    auto const count = batch.entities.size();
    json::array entities;
    entities.reserve(count);
    for (auto const* e : batch.entities)
        entities.push_back(e->to_json());
    auto const path = "/blueprints/" + encode_segment(blueprint) + "/entities/bulk?" + upsert_query(options);
    json::object body;
    body["entities"] = std::move(entities);
    auto response = co_await send("POST", path, json::value(std::move(body)), true, options.agent);

    if (response.status == 413) {
        spdlog::info("Port responded 413 to a bulk of {} {} entities (x-trace-id {}); upserting them one by one", count,
                     blueprint, trace_id(response));
        for (std::size_t i = 0; i < count; ++i)
            co_await upsert_single(batch, i, options);
        co_return;
    }
    if (transient(response.status))
        fail(response, "bulk upsert of " + std::to_string(count) + " " + blueprint + " entities");
    if (response.status != 200 && response.status != 201 && response.status != 207) {
        auto const message = port_message(response);
        for (std::size_t i = 0; i < count; ++i)
            batch.reject(i, make_failure(blueprint, batch.entities[i]->identifier_text(), response.status, "rejected",
                                         message));
        co_return;
    }

    boost::system::error_code ec;
    auto const parsed = json::parse(response.body, ec);
    auto const* object = ec ? nullptr : parsed.if_object();
    if (object == nullptr) {
        spdlog::error("Port bulk upsert of {} {} entities: HTTP {} with a body that is not a JSON object (x-trace-id {})",
                      count, blueprint, response.status, trace_id(response));
        for (std::size_t i = 0; i < count; ++i)
            batch.reject(i, make_failure(blueprint, batch.entities[i]->identifier_text(), response.status,
                                         "invalid_response", "Port's bulk response is not a JSON object"));
        co_return;
    }
    std::vector<bool> failed(count, false);
    if (auto const* errors = object->if_contains("errors"); errors && errors->is_array()) {
        for (auto const& item : errors->get_array()) {
            auto const* o = item.if_object();
            if (!o)
                continue;
            entity_failure f;
            f.blueprint = blueprint;
            std::size_t index = count;
            if (auto const* i = o->if_contains("index"); i && i->is_number())
                index = static_cast<std::size_t>(i->to_number<double>());
            if (auto const* id = o->if_contains("identifier"); id && id->is_string())
                f.identifier = std::string(id->get_string());
            else if (index < count)
                f.identifier = batch.entities[index]->identifier_text();
            if (auto const* s = o->if_contains("statusCode"); s && s->is_number())
                f.status = static_cast<unsigned>(s->to_number<double>());
            if (auto const* e = o->if_contains("error"); e && e->is_string())
                f.error = std::string(e->get_string());
            if (auto const* m = o->if_contains("message"); m && m->is_string())
                f.message = std::string(m->get_string());
            spdlog::warn("Port rejected entity {}/{}: {} {} (x-trace-id {})", blueprint, f.identifier, f.error,
                         f.message, trace_id(response));
            if (index < count) {
                failed[index] = true;
                batch.reject(index, std::move(f));
            } else {
                batch.result.failures.push_back(std::move(f));
            }
        }
    }
    for (std::size_t i = 0; i < count; ++i)
        if (!failed[i])
            batch.succeed(i);
}

asio::awaitable<std::pair<boost::system::error_code, write_result>> client::impl::upsert(std::vector<entity> entities,
                                                                                         upsert_options options)
{
    // Group by blueprint, keeping first-seen order so related entities land in a stable order.
    std::vector<std::string> order;
    std::map<std::string, std::vector<entity const*>> groups;
    for (auto const& e : entities) {
        auto [it, inserted] = groups.try_emplace(e.blueprint);
        if (inserted)
            order.push_back(e.blueprint);
        it->second.push_back(&e);
    }

    // Bytes of the `{"entities":[]}` wrapper plus a comma per entity.
    constexpr std::size_t envelope = 16;
    std::vector<write_batch> batches;
    // group_ends[g]: one past the last batch of blueprint group g.
    std::vector<std::size_t> group_ends;
    for (auto const& blueprint : order) {
        std::size_t bytes = envelope;
        auto const& group = groups[blueprint];
        for (auto const* e : group) {
            auto const size = json::serialize(e->to_json()).size() + 1;
            bool const first_of_group = batches.size() == (group_ends.empty() ? 0 : group_ends.back());
            if (first_of_group || batches.back().entities.size() >= config.bulk_max_entities ||
                bytes + size > config.bulk_max_bytes) {
                batches.emplace_back();
                batches.back().blueprint = &groups.find(blueprint)->first;
                bytes = envelope;
            }
            batches.back().entities.push_back(e);
            batches.back().settled.push_back(false);
            bytes += size;
        }
        group_ends.push_back(batches.size());
    }

    batch_writer const write = [this, &options](write_batch& batch) { return upsert_chunk(batch, options); };
    boost::system::error_code ec;
    std::string failure;
    if (options.create_missing_related_entities) {
        ec = co_await run_batches(batches, 0, batches.size(), write, failure);
    } else {
        // Without placeholder targets, a relation to an entity of another blueprint succeeds only
        // once that entity exists, so the blueprints go one after another.
        std::size_t begin = 0;
        for (auto const end : group_ends) {
            ec = co_await run_batches(batches, begin, end, write, failure);
            if (ec)
                break;
            begin = end;
        }
    }

    auto result = merge_batches(batches);
    if (ec)
        spdlog::error("Port bulk upsert of {} entities stopped ({}): {} stored, {} rejected, {} pending", entities.size(),
                      failure, result.succeeded, result.failures.size(), result.pending.size());
    co_return std::pair{ec, std::move(result)};
}

asio::awaitable<void> client::impl::remove_batch(write_batch& batch, delete_options const& options)
{
    auto const& blueprint = *batch.blueprint;
    auto const count = batch.entities.size();
    json::array identifiers;
    for (auto const* e : batch.entities)
        identifiers.emplace_back(e->identifier.get_string());
    auto const path = "/blueprints/" + encode_segment(blueprint) + "/bulk/entities/delete?delete_dependents=" +
                      (options.delete_dependents ? "true" : "false") +
                      event_query(options.event_type, options.resync_id);
    json::object body;
    body["entities"] = std::move(identifiers);
    auto response = co_await send("POST", path, json::value(std::move(body)), true, options.agent);
    if (response.status == 200 || response.status == 207 || response.status == 404) {
        // Entities that were already gone are not listed by Port; they count as deleted.
        for (std::size_t i = 0; i < count; ++i)
            batch.succeed(i);
        co_return;
    }
    if (transient(response.status))
        fail(response, "bulk delete of " + std::to_string(count) + " " + blueprint + " entities");
    auto const message = port_message(response);
    for (std::size_t i = 0; i < count; ++i)
        batch.reject(i, make_failure(blueprint, batch.entities[i]->identifier_text(), response.status, "rejected",
                                     message));
}

asio::awaitable<std::pair<boost::system::error_code, write_result>> client::impl::remove(std::vector<entity> entities,
                                                                                         delete_options options)
{
    std::vector<std::string> order;
    std::map<std::string, std::vector<entity const*>> groups;
    for (auto const& e : entities) {
        if (!e.has_string_identifier()) {
            spdlog::warn("skipping delete of a {} entity whose identifier is a search query", e.blueprint);
            continue;
        }
        auto [it, inserted] = groups.try_emplace(e.blueprint);
        if (inserted)
            order.push_back(e.blueprint);
        it->second.push_back(&e);
    }

    auto const batch_size = std::max<std::size_t>(1, config.delete_batch_size);
    std::vector<write_batch> batches;
    for (auto const& blueprint : order) {
        auto const& group = groups[blueprint];
        for (std::size_t start = 0; start < group.size(); start += batch_size) {
            auto const end = std::min(group.size(), start + batch_size);
            auto& batch = batches.emplace_back();
            batch.blueprint = &groups.find(blueprint)->first;
            batch.entities.assign(group.begin() + static_cast<std::ptrdiff_t>(start),
                                  group.begin() + static_cast<std::ptrdiff_t>(end));
            batch.settled.assign(end - start, false);
        }
    }

    batch_writer const write = [this, &options](write_batch& batch) { return remove_batch(batch, options); };
    std::string failure;
    auto const ec = co_await run_batches(batches, 0, batches.size(), write, failure);
    auto result = merge_batches(batches);
    if (ec)
        spdlog::error("Port bulk delete of {} entities stopped ({}): {} deleted, {} rejected, {} pending", entities.size(),
                      failure, result.succeeded, result.failures.size(), result.pending.size());
    co_return std::pair{ec, std::move(result)};
}

client::client(asio::any_io_executor executor, client_config config)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(config)))
{
}

client::~client() = default;

std::string client::user_agent(user_agent_type agent) const
{
    return impl_->user_agent(agent);
}

client_config const& client::config() const noexcept
{
    return impl_->config;
}

asio::any_io_executor client::get_executor() const noexcept
{
    return impl_->executor;
}

void client::get_integration_impl(
    asio::any_completion_handler<void(boost::system::error_code, std::optional<json::object>)> h)
{
    auto op = impl_->request_object("GET", impl_->integration_path(), std::nullopt, true, "integration", true);
    detail::launch(impl_->strand, detail::keep_alive(impl_, std::move(op)), std::move(h));
}

namespace {

// Unwraps the object of a request_object call with missing_is_empty false, which never returns nullopt.
asio::awaitable<json::object> required(asio::awaitable<std::optional<json::object>> op)
{
    auto object = co_await std::move(op);
    co_return std::move(object).value_or(json::object{});
}

} // namespace

void client::create_integration_impl(json::object body,
                                     asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    body["installationId"] = impl_->config.integration_identifier;
    if (!body.contains("installationAppType"))
        body["installationAppType"] = impl_->config.integration_type;
    if (!body.contains("version"))
        body["version"] = impl_->config.integration_version;
    auto op = impl_->request_object("POST", "/integration", json::value(std::move(body)), false, "integration", false);
    detail::launch(impl_->strand, detail::keep_alive(impl_, required(std::move(op))), std::move(h));
}

void client::patch_integration_impl(json::object body,
                                    asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    auto op = impl_->request_object("PATCH", impl_->integration_path(), json::value(std::move(body)), false,
                                    "integration", false);
    detail::launch(impl_->strand, detail::keep_alive(impl_, required(std::move(op))), std::move(h));
}

void client::patch_integration_config_impl(
    json::object config, bool skip_resync, asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    http::fields headers;
    if (skip_resync)
        headers.set("x-skip-resync", "true");
    json::object body;
    body["config"] = std::move(config);
    auto op = impl_->request_object("PATCH", impl_->integration_path() + "/config", json::value(std::move(body)), false,
                                    "integration", false, std::move(headers));
    detail::launch(impl_->strand, detail::keep_alive(impl_, required(std::move(op))), std::move(h));
}

void client::update_resync_state_impl(resync_state state,
                                      asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    json::object body;
    body["status"] = status_name(state.status);
    body["lastResyncStart"] = optional_time(state.last_resync_start);
    body["lastResyncEnd"] = optional_time(state.last_resync_end);
    body["nextResync"] = optional_time(state.next_resync);
    body["intervalInMinuets"] = state.interval_minutes ? json::value(*state.interval_minutes) : json::value(nullptr);
    auto op = impl_->request_object("PATCH", impl_->integration_path() + "/resync-state", json::value(std::move(body)),
                                    false, "integration", false);
    detail::launch(impl_->strand, detail::keep_alive(impl_, required(std::move(op))), std::move(h));
}

void client::get_resync_request_impl(
    asio::any_completion_handler<void(boost::system::error_code, std::optional<json::object>)> h)
{
    auto op = impl_->request_object("GET", impl_->integration_path() + "/resync-request", std::nullopt, true, "request",
                                    true);
    detail::launch(impl_->strand, detail::keep_alive(impl_, std::move(op)), std::move(h));
}

void client::datasource_entities_impl(
    datasource_query query, asio::any_completion_handler<void(boost::system::error_code, std::vector<entity_ref>)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->datasource_entities(query)), std::move(h));
}

void client::search_impl(
    json::object query, search_options options,
    asio::any_completion_handler<void(boost::system::error_code, std::vector<json::object>)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->search(std::move(query), std::move(options))),
                   std::move(h));
}

void client::get_blueprint_impl(
    std::string identifier, asio::any_completion_handler<void(boost::system::error_code, std::optional<json::object>)> h)
{
    auto op = impl_->request_object("GET", "/blueprints/" + encode_segment(identifier), std::nullopt, true, "blueprint",
                                    true);
    detail::launch(impl_->strand, detail::keep_alive(impl_, std::move(op)), std::move(h));
}

void client::create_blueprint_impl(json::object body,
                                   asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    auto op = impl_->request_object("POST", "/blueprints", json::value(std::move(body)), false, "blueprint", false);
    detail::launch(impl_->strand, detail::keep_alive(impl_, required(std::move(op))), std::move(h));
}

void client::patch_blueprint_impl(std::string identifier, json::object body,
                                  asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    auto op = impl_->request_object("PATCH", "/blueprints/" + encode_segment(identifier), json::value(std::move(body)),
                                    false, "blueprint", false);
    detail::launch(impl_->strand, detail::keep_alive(impl_, required(std::move(op))), std::move(h));
}

void client::upsert_impl(std::vector<entity> entities, upsert_options options,
                         asio::any_completion_handler<void(boost::system::error_code, write_result)> h)
{
    launch_with_partial_result(impl_->strand,
                               detail::keep_alive(impl_, impl_->upsert(std::move(entities), std::move(options))),
                               std::move(h));
}

void client::delete_impl(std::vector<entity> entities, delete_options options,
                         asio::any_completion_handler<void(boost::system::error_code, write_result)> h)
{
    launch_with_partial_result(impl_->strand,
                               detail::keep_alive(impl_, impl_->remove(std::move(entities), std::move(options))),
                               std::move(h));
}

void client::call_impl(std::string method, std::string path, std::optional<json::value> body, bool retryable,
                       asio::any_completion_handler<void(boost::system::error_code, http::client_response)> h)
{
    detail::launch(impl_->strand,
                   detail::keep_alive(impl_, impl_->send(std::move(method), std::move(path), std::move(body), retryable)),
                   std::move(h));
}

} // namespace ocean::port
