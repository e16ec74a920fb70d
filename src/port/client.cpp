#include <ocean/error.hpp>
#include <ocean/port/client.hpp>

#include "detail/launch.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <spdlog/spdlog.h>

#include <map>

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
    clock_type::time_point token_expires{};
    bool refreshing = false;
    boost::system::error_code refresh_error;
    // Callers that need a token while a refresh runs wait on this timer; the refresher cancels it.
    asio::steady_timer refresh_done;

    std::string user_agent(user_agent_type agent) const
    {
        return "port-ocean/" + config.integration_type + "/" + config.integration_version + "/" +
               config.integration_identifier + "/" + (agent == user_agent_type::gitops ? "gitops" : "exporter");
    }

    asio::awaitable<std::string> token(std::string const* rejected);
    asio::awaitable<void> refresh();
    asio::awaitable<http::client_response> send(std::string method, std::string path, std::optional<json::value> body,
                                                bool retryable, user_agent_type agent = user_agent_type::exporter);
    asio::awaitable<std::optional<json::object>> get_integration();
    asio::awaitable<json::object> write_integration(std::string method, std::string path, json::object body);
    asio::awaitable<write_result> upsert(std::vector<entity> entities, upsert_options options);
    asio::awaitable<void> upsert_chunk(std::string const& blueprint, std::vector<entity const*> const& chunk,
                                       upsert_options const& options, write_result& result);
    asio::awaitable<void> upsert_single(std::string const& blueprint, entity const& e, upsert_options const& options,
                                        write_result& result);
    asio::awaitable<write_result> remove(std::vector<entity> entities, delete_options options);
};

asio::awaitable<void> client::impl::refresh()
{
    refreshing = true;
    refresh_error = {};
    refresh_done.expires_at(clock_type::time_point::max());

    http::client_request request;
    request.method = "POST";
    request.url = config.base_url + "/v1/auth/access_token";
    request.retryable = true;
    request.headers.set("Content-Type", "application/json");
    request.headers.set("User-Agent", user_agent(user_agent_type::exporter));
    request.body = json::serialize(json::object{{"clientId", config.client_id}, {"clientSecret", config.client_secret}});

    auto [ec, response] = co_await http.async_send(std::move(request), asio::as_tuple(asio::use_awaitable));
    if (!ec && response.status == 200) {
        auto const parsed = json::parse(response.body, ec);
        auto const* object = parsed.if_object();
        auto const* access = object ? object->if_contains("accessToken") : nullptr;
        if (!ec && access && access->is_string()) {
            std::string type = "Bearer";
            if (auto const* t = object->if_contains("tokenType"); t && t->is_string())
                type = std::string(t->get_string());
            std::int64_t expires_in = 3 * 3600;
            if (auto const* e = object->if_contains("expiresIn"); e && e->is_number())
                expires_in = static_cast<std::int64_t>(e->to_number<double>());
            authorization = type + " " + std::string(access->get_string());
            token_expires = clock_type::now() + std::chrono::seconds(expires_in);
            spdlog::debug("Port token refreshed; expires in {} s", expires_in);
        } else {
            spdlog::error("Port auth at {}: response has no accessToken", config.base_url);
            refresh_error = make_error_code(error::protocol_error);
        }
    } else if (ec) {
        spdlog::error("Port auth at {} failed: {}", config.base_url, ec.message());
        refresh_error = ec;
    } else {
        spdlog::error("Port auth at {} failed for client id '{}': HTTP {} {} (x-trace-id {})", config.base_url,
                      config.client_id, response.status, port_message(response), trace_id(response));
        refresh_error = make_error_code(response.status == 401 || response.status == 403 ? error::port_auth_failed
                                                                                         : error::port_unavailable);
    }
    refreshing = false;
    refresh_done.cancel();
}

asio::awaitable<std::string> client::impl::token(std::string const* rejected)
{
    for (;;) {
        bool const stale = rejected != nullptr && *rejected == authorization;
        bool const expiring = clock_type::now() + config.token_refresh_margin >= token_expires;
        if (!authorization.empty() && !stale && !expiring)
            co_return authorization;
        if (refreshing) {
            co_await refresh_done.async_wait(asio::as_tuple(asio::use_awaitable));
            if (refresh_error)
                throw boost::system::system_error(refresh_error, "Port authentication");
            co_return authorization;
        }
        co_await refresh();
        if (refresh_error)
            throw boost::system::system_error(refresh_error, "Port authentication");
        co_return authorization;
    }
}

asio::awaitable<http::client_response> client::impl::send(std::string method, std::string path,
                                                          std::optional<json::value> body, bool retryable,
                                                          user_agent_type agent)
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
        spdlog::info("Port returned 401 for {} {}; refreshing the token once", method, path);
        current = co_await token(&current);
        request.headers.set("Authorization", current);
        response = co_await http.async_send(std::move(request), asio::use_awaitable);
    }
    if (response.status >= 400)
        spdlog::warn("Port {} {} returned {}: {} (x-trace-id {})", method, path, response.status,
                     port_message(response), trace_id(response));
    co_return response;
}

asio::awaitable<std::optional<json::object>> client::impl::get_integration()
{
    auto const path = "/integration/" + encode_segment(config.integration_identifier);
    auto response = co_await send("GET", path, std::nullopt, true);
    if (response.status == 404)
        co_return std::nullopt;
    if (response.status != 200)
        throw boost::system::system_error(
            make_error_code(transient(response.status) ? error::port_unavailable : error::port_rejected),
            "GET " + path + ": HTTP " + std::to_string(response.status) + " " + port_message(response));
    auto const parsed = json::parse(response.body);
    if (auto const* integration = parsed.as_object().if_contains("integration"); integration && integration->is_object())
        co_return integration->get_object();
    throw boost::system::system_error(make_error_code(error::protocol_error),
                                      "GET " + path + ": response has no 'integration' object");
}

asio::awaitable<json::object> client::impl::write_integration(std::string method, std::string path, json::object body)
{
    auto response = co_await send(method, path, json::value(std::move(body)), false);
    if (response.status != 200 && response.status != 201)
        throw boost::system::system_error(
            make_error_code(transient(response.status) ? error::port_unavailable : error::port_rejected),
            method + " " + path + ": HTTP " + std::to_string(response.status) + " " + port_message(response));
    auto const parsed = json::parse(response.body);
    if (auto const* integration = parsed.as_object().if_contains("integration"); integration && integration->is_object())
        co_return integration->get_object();
    co_return json::object{};
}

asio::awaitable<void> client::impl::upsert_single(std::string const& blueprint, entity const& e,
                                                  upsert_options const& options, write_result& result)
{
    auto const path = "/blueprints/" + encode_segment(blueprint) + "/entities?upsert=true&merge=" +
                      (options.merge ? "true" : "false") + "&create_missing_related_entities=" +
                      (options.create_missing_related_entities ? "true" : "false") +
                      "&ocean_info_event_type=" + encode_query_value(options.event_type);
    auto response = co_await send("POST", path, json::value(e.to_json()), true, options.agent);
    if (response.status == 200 || response.status == 201) {
        ++result.succeeded;
        result.done.push_back(blueprint + "/" + e.identifier_text());
        co_return;
    }
    if (transient(response.status))
        throw boost::system::system_error(make_error_code(error::port_unavailable),
                                          "upsert of " + blueprint + "/" + e.identifier_text() + ": HTTP " +
                                              std::to_string(response.status));
    result.failures.push_back(make_failure(blueprint, e.identifier_text(), response.status, "rejected", port_message(response)));
}

asio::awaitable<void> client::impl::upsert_chunk(std::string const& blueprint, std::vector<entity const*> const& chunk,
                                                 upsert_options const& options, write_result& result)
{
    json::array entities;
    entities.reserve(chunk.size());
    for (auto const* e : chunk)
        entities.push_back(e->to_json());
    auto const path = "/blueprints/" + encode_segment(blueprint) + "/entities/bulk?upsert=true&merge=" +
                      (options.merge ? "true" : "false") + "&create_missing_related_entities=" +
                      (options.create_missing_related_entities ? "true" : "false") +
                      "&ocean_info_event_type=" + encode_query_value(options.event_type);
    json::object body;
    body["entities"] = std::move(entities);
    auto response = co_await send("POST", path, json::value(std::move(body)), true, options.agent);

    if (response.status == 413) {
        spdlog::info("Port returned 413 for a bulk of {} {} entities; upserting them one by one", chunk.size(), blueprint);
        for (auto const* e : chunk)
            co_await upsert_single(blueprint, *e, options, result);
        co_return;
    }
    if (transient(response.status))
        throw boost::system::system_error(make_error_code(error::port_unavailable),
                                          "bulk upsert of " + std::to_string(chunk.size()) + " " + blueprint +
                                              " entities: HTTP " + std::to_string(response.status) + " " +
                                              port_message(response));
    if (response.status != 200 && response.status != 201 && response.status != 207) {
        auto const message = port_message(response);
        for (auto const* e : chunk)
            result.failures.push_back(make_failure(blueprint, e->identifier_text(), response.status, "rejected", message));
        co_return;
    }

    boost::system::error_code ec;
    auto const parsed = json::parse(response.body, ec);
    auto const* object = ec ? nullptr : parsed.if_object();
    if (object == nullptr) {
        for (auto const* e : chunk)
            result.failures.push_back(make_failure(blueprint, e->identifier_text(), response.status, "invalid_response",
                                       "Port's bulk response is not a JSON object"));
        co_return;
    }
    std::vector<bool> failed(chunk.size(), false);
    if (auto const* errors = object->if_contains("errors"); errors && errors->is_array()) {
        for (auto const& item : errors->get_array()) {
            auto const* o = item.if_object();
            if (!o)
                continue;
            entity_failure f;
            f.blueprint = blueprint;
            std::size_t index = chunk.size();
            if (auto const* i = o->if_contains("index"); i && i->is_number())
                index = static_cast<std::size_t>(i->to_number<double>());
            if (auto const* id = o->if_contains("identifier"); id && id->is_string())
                f.identifier = std::string(id->get_string());
            else if (index < chunk.size())
                f.identifier = chunk[index]->identifier_text();
            if (auto const* s = o->if_contains("statusCode"); s && s->is_number())
                f.status = static_cast<unsigned>(s->to_number<double>());
            if (auto const* e = o->if_contains("error"); e && e->is_string())
                f.error = std::string(e->get_string());
            if (auto const* m = o->if_contains("message"); m && m->is_string())
                f.message = std::string(m->get_string());
            if (index < chunk.size())
                failed[index] = true;
            spdlog::warn("Port rejected entity {}/{}: {} {}", blueprint, f.identifier, f.error, f.message);
            result.failures.push_back(std::move(f));
        }
    }
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        if (!failed[i]) {
            ++result.succeeded;
            result.done.push_back(blueprint + "/" + chunk[i]->identifier_text());
        }
    }
}

asio::awaitable<write_result> client::impl::upsert(std::vector<entity> entities, upsert_options options)
{
    write_result result;
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
    for (auto const& blueprint : order) {
        std::vector<entity const*> chunk;
        std::size_t bytes = envelope;
        for (auto const* e : groups[blueprint]) {
            auto const size = json::serialize(e->to_json()).size() + 1;
            if (!chunk.empty() &&
                (chunk.size() >= config.bulk_max_entities || bytes + size > config.bulk_max_bytes)) {
                co_await upsert_chunk(blueprint, chunk, options, result);
                chunk.clear();
                bytes = envelope;
            }
            chunk.push_back(e);
            bytes += size;
        }
        if (!chunk.empty())
            co_await upsert_chunk(blueprint, chunk, options, result);
    }
    co_return result;
}

asio::awaitable<write_result> client::impl::remove(std::vector<entity> entities, delete_options options)
{
    write_result result;
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::string>> groups;
    for (auto const& e : entities) {
        if (!e.has_string_identifier()) {
            spdlog::warn("skipping delete of a {} entity whose identifier is a search query", e.blueprint);
            continue;
        }
        auto [it, inserted] = groups.try_emplace(e.blueprint);
        if (inserted)
            order.push_back(e.blueprint);
        it->second.push_back(std::string(e.identifier.get_string()));
    }

    for (auto const& blueprint : order) {
        auto const& ids = groups[blueprint];
        for (std::size_t start = 0; start < ids.size(); start += config.delete_batch_size) {
            auto const end = std::min(ids.size(), start + config.delete_batch_size);
            json::array batch;
            for (auto i = start; i < end; ++i)
                batch.emplace_back(ids[i]);
            auto const path = "/blueprints/" + encode_segment(blueprint) + "/bulk/entities/delete?delete_dependents=" +
                              (options.delete_dependents ? "true" : "false") +
                              "&ocean_info_event_type=" + encode_query_value(options.event_type);
            json::object body;
            body["entities"] = std::move(batch);
            auto response = co_await send("POST", path, json::value(std::move(body)), true, options.agent);
            if (response.status == 200 || response.status == 207 || response.status == 404) {
                // Entities that were already gone are not listed by Port; they count as deleted.
                for (auto i = start; i < end; ++i)
                    result.done.push_back(blueprint + "/" + ids[i]);
                result.succeeded += end - start;
                continue;
            }
            if (transient(response.status))
                throw boost::system::system_error(make_error_code(error::port_unavailable),
                                                  "bulk delete of " + std::to_string(end - start) + " " + blueprint +
                                                      " entities: HTTP " + std::to_string(response.status));
            auto const message = port_message(response);
            for (auto i = start; i < end; ++i)
                result.failures.push_back(make_failure(blueprint, ids[i], response.status, "rejected", message));
        }
    }
    co_return result;
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
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->get_integration()), std::move(h));
}

void client::create_integration_impl(json::object body,
                                     asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    body["installationId"] = impl_->config.integration_identifier;
    if (!body.contains("installationAppType"))
        body["installationAppType"] = impl_->config.integration_type;
    if (!body.contains("version"))
        body["version"] = impl_->config.integration_version;
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->write_integration("POST", "/integration", std::move(body))),
                   std::move(h));
}

void client::patch_integration_impl(json::object body,
                                    asio::any_completion_handler<void(boost::system::error_code, json::object)> h)
{
    auto path = "/integration/" + encode_segment(impl_->config.integration_identifier);
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->write_integration("PATCH", std::move(path), std::move(body))),
                   std::move(h));
}

void client::upsert_impl(std::vector<entity> entities, upsert_options options,
                         asio::any_completion_handler<void(boost::system::error_code, write_result)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->upsert(std::move(entities), std::move(options))),
                   std::move(h));
}

void client::delete_impl(std::vector<entity> entities, delete_options options,
                         asio::any_completion_handler<void(boost::system::error_code, write_result)> h)
{
    detail::launch(impl_->strand, detail::keep_alive(impl_, impl_->remove(std::move(entities), std::move(options))),
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
