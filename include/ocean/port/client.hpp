// Client for Port's REST API: token auth, integration object, entity upsert and delete.
#pragma once

#include <ocean/detail/async.hpp>
#include <ocean/http/client.hpp>
#include <ocean/port/entity.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ocean::port {

/// Which datasource Port records for a write: resync and live events are `exporter`, ready-made
/// entities from files are `gitops`. Reconciliation only touches entities of its own datasource.
enum class user_agent_type { exporter, gitops };

struct client_config {
    /// Port's API origin, without `/v1`.
    std::string base_url = "https://api.getport.io";
    std::string client_id;
    /// Never logged.
    std::string client_secret;
    std::string integration_type;
    std::string integration_version = "0.1.0";
    std::string integration_identifier;
    /// Transport settings; the retry policy applies to idempotent and retryable calls.
    http::client_config http;
    /// Largest number of Port requests in flight for this client, whatever the callers.
    std::size_t max_concurrent_requests = 20;
    /// Bulk upsert limits: Port takes at most 20 entities and 1 MiB per request.
    std::size_t bulk_max_entities = 20;
    std::size_t bulk_max_bytes = 1024 * 1024;
    /// Bulk delete takes at most this many identifiers per request.
    std::size_t delete_batch_size = 100;
    /// Refresh the token this long before it expires. The margin is capped at a tenth of the
    /// token's lifetime, so a short-lived token is not refreshed before every request.
    std::chrono::seconds token_refresh_margin{60};
};

struct upsert_options {
    bool merge = true;
    bool create_missing_related_entities = true;
    user_agent_type agent = user_agent_type::exporter;
    /// Sent as `ocean_info_event_type` (resync, http_request, ...).
    std::string event_type = "http_request";
    /// Sent as `ocean_info_resync_id` when not empty, so Port's audit log can filter by resync.
    std::string resync_id;
};

struct delete_options {
    bool delete_dependents = false;
    user_agent_type agent = user_agent_type::exporter;
    /// Sent as `ocean_info_event_type`.
    std::string event_type = "http_request";
    /// Sent as `ocean_info_resync_id` when not empty.
    std::string resync_id;
};

/// One entity that Port did not accept.
struct entity_failure {
    std::string blueprint;
    std::string identifier;
    unsigned status = 0;
    std::string error;
    std::string message;
};

/// The outcome of a batch write: what succeeded and, per entity, what did not. Entries follow
/// the order of the entities in the call, grouped by blueprint in first-seen order.
struct write_result {
    std::size_t succeeded = 0;
    /// Entities Port rejected (4xx); sending them again unchanged fails again.
    std::vector<entity_failure> failures;
    /// Identifiers Port stored or deleted, as `blueprint/identifier`.
    std::vector<std::string> done;
    /// Entities whose write Port never confirmed, because Port stayed unavailable after every
    /// retry or the operation was cancelled. Port may have applied some of them; upserts and
    /// deletes are idempotent, so the caller can send them again later.
    std::vector<entity> pending;
};

/// Progress of a resync, as Port shows it on the integration page.
enum class resync_status { running, completed, failed, aborted };

/// The body of `PATCH /v1/integration/{id}/resync-state`. Unset times are sent as null.
struct resync_state {
    resync_status status = resync_status::running;
    std::optional<std::chrono::system_clock::time_point> last_resync_start;
    std::optional<std::chrono::system_clock::time_point> last_resync_end;
    std::optional<std::chrono::system_clock::time_point> next_resync;
    /// The resync interval in minutes, sent as `intervalInMinuets` (the API's own spelling).
    std::optional<double> interval_minutes;
};

/// An entity named by its blueprint and string identifier.
struct entity_ref {
    std::string blueprint;
    std::string identifier;

    friend bool operator==(entity_ref const&, entity_ref const&) = default;
};

/// The filter of async_get_datasource_entities: entities this integration wrote with `agent`.
struct datasource_query {
    user_agent_type agent = user_agent_type::exporter;
    /// Entities per request; Port takes at most 5000.
    std::size_t page_size = 5000;
    /// Only entities last updated before this time, e.g. the start of a resync.
    std::optional<std::chrono::system_clock::time_point> before;
};

/// Options of async_search_entities.
struct search_options {
    /// Fields to return, e.g. `identifier` or `properties.url`; empty returns whole entities.
    std::vector<std::string> include;
    bool exclude_calculated_properties = true;
};

/// A Port API client. Operations may overlap; the client serialises its own state on an
/// internal strand, so one instance may be shared by coroutines on several threads.
///
/// Every operation honours terminal, partial and total cancellation, also while it waits for a
/// token, a request slot or a retry backoff, and then completes with
/// asio::error::operation_aborted. A 401 leads to one token refresh and one more attempt. Other
/// 4xx responses complete with error::port_rejected, except a 404 where the operation returns
/// nullopt. 408, 429 and 5xx responses that outlast the retry policy complete with
/// error::port_unavailable, and rejected credentials with error::port_auth_failed. The batch
/// writes report per-entity rejections in their result instead (see async_upsert_entities),
/// and async_call returns any status as data.
class client {
public:
    client(boost::asio::any_io_executor executor, client_config config);
    ~client();
    client(client const&) = delete;
    client& operator=(client const&) = delete;

    /// Returns the User-Agent Port records as the datasource, e.g.
    /// `port-ocean/my-type/0.1.0/my-integration/exporter`.
    std::string user_agent(user_agent_type agent) const;

    /// Fetches this integration. Completion: void(error_code, std::optional<json::object>), with
    /// nullopt when Port responds 404.
    template <class Token = default_token>
    auto async_get_integration(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, std::optional<boost::json::object>)>(
            std::forward<Token>(token), [this](auto h) { get_integration_impl(std::move(h)); });
    }

    /// Creates this integration with `body` (installationAppType, version, config, ...); the
    /// identifier is filled in. Completion: void(error_code, json::object integration).
    template <class Token = default_token>
    auto async_create_integration(boost::json::object body, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, boost::json::object)>(
            std::forward<Token>(token),
            [this, b = std::move(body)](auto h) mutable { create_integration_impl(std::move(b), std::move(h)); });
    }

    /// Patches this integration. Completion: void(error_code, json::object integration).
    template <class Token = default_token>
    auto async_patch_integration(boost::json::object body, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, boost::json::object)>(
            std::forward<Token>(token),
            [this, b = std::move(body)](auto h) mutable { patch_integration_impl(std::move(b), std::move(h)); });
    }

    /// Replaces this integration's port-app-config with `config`
    /// (`PATCH /v1/integration/{id}/config`). With `skip_resync`, Port is asked not to start a
    /// resync for the change (`x-skip-resync: true`). Not retried, as the method is not idempotent.
    /// Completion: void(error_code, json::object integration).
    template <class Token = default_token>
    auto async_patch_integration_config(boost::json::object config, bool skip_resync = false, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, boost::json::object)>(
            std::forward<Token>(token), [this, c = std::move(config), skip_resync](auto h) mutable {
                patch_integration_config_impl(std::move(c), skip_resync, std::move(h));
            });
    }

    /// Reports resync progress (`PATCH /v1/integration/{id}/resync-state`). Not retried.
    /// Completion: void(error_code, json::object integration), whose `resyncState.updatedAt`
    /// is the watermark for polling resync requests.
    template <class Token = default_token>
    auto async_update_resync_state(resync_state state, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, boost::json::object)>(
            std::forward<Token>(token),
            [this, state](auto h) { update_resync_state_impl(state, std::move(h)); });
    }

    /// Fetches the latest resync request made in Port's UI
    /// (`GET /v1/integration/{id}/resync-request`). Completion:
    /// void(error_code, std::optional<json::object> request), with nullopt when Port responds 404.
    template <class Token = default_token>
    auto async_get_resync_request(Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, std::optional<boost::json::object>)>(
            std::forward<Token>(token), [this](auto h) { get_resync_request_impl(std::move(h)); });
    }

    /// Lists every entity this integration owns, following Port's pages of
    /// `POST /v1/blueprints/entities/datasource-entities` until the last one. Ownership is the
    /// datasource Port recorded from the User-Agent: `port-ocean/{type}/.../{identifier}/{agent}`.
    /// Completion: void(error_code, std::vector<entity_ref>).
    template <class Token = default_token>
    auto async_get_datasource_entities(datasource_query query = {}, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, std::vector<entity_ref>)>(
            std::forward<Token>(token),
            [this, query](auto h) { datasource_entities_impl(query, std::move(h)); });
    }

    /// Runs a search query `{combinator, rules}` (`POST /v1/entities/search`). Completion:
    /// void(error_code, std::vector<json::object> entities), in Port's order.
    template <class Token = default_token>
    auto async_search_entities(boost::json::object query, search_options options = {}, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, std::vector<boost::json::object>)>(
            std::forward<Token>(token), [this, q = std::move(query), o = std::move(options)](auto h) mutable {
                search_impl(std::move(q), std::move(o), std::move(h));
            });
    }

    /// Fetches a blueprint. Completion: void(error_code, std::optional<json::object>), with
    /// nullopt when Port responds 404.
    template <class Token = default_token>
    auto async_get_blueprint(std::string identifier, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, std::optional<boost::json::object>)>(
            std::forward<Token>(token),
            [this, id = std::move(identifier)](auto h) mutable { get_blueprint_impl(std::move(id), std::move(h)); });
    }

    /// Creates a blueprint from `body` (identifier, title, schema, relations, ...). A blueprint
    /// that exists already completes with error::port_rejected. Not retried.
    /// Completion: void(error_code, json::object blueprint).
    template <class Token = default_token>
    auto async_create_blueprint(boost::json::object body, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, boost::json::object)>(
            std::forward<Token>(token),
            [this, b = std::move(body)](auto h) mutable { create_blueprint_impl(std::move(b), std::move(h)); });
    }

    /// Patches the fields of blueprint `identifier` given in `body`. Not retried.
    /// Completion: void(error_code, json::object blueprint).
    template <class Token = default_token>
    auto async_patch_blueprint(std::string identifier, boost::json::object body, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, boost::json::object)>(
            std::forward<Token>(token), [this, id = std::move(identifier), b = std::move(body)](auto h) mutable {
                patch_blueprint_impl(std::move(id), std::move(b), std::move(h));
            });
    }

    /// Upserts entities through the bulk route, grouped by blueprint and split by count and body
    /// size; a 413 falls back to single upserts. Up to max_concurrent_requests bulks of one call
    /// run at once. With create_missing_related_entities off, blueprints are written one after
    /// another in first-seen order, so relation targets of other blueprints land first. The
    /// bulks of one blueprint still overlap, so a relation to an entity of the same blueprint in
    /// another bulk may then be rejected with 404 (see write_result::failures).
    ///
    /// Per-entity rejections are in the result and leave the error_code clear. The error_code is
    /// set only when the operation as a whole failed, and the result is then still filled in:
    /// error::port_unavailable after 408, 429 or 5xx responses outlast the retry policy, a network
    /// error (e.g. error::timeout) when no response arrived, error::port_auth_failed, or
    /// asio::error::operation_aborted on cancellation. No new bulk starts after such a failure,
    /// and the entities not confirmed are returned in write_result::pending, so no data is lost.
    /// Cancellation: terminal, partial and total; all requests of the call are cancelled.
    /// Completion: void(error_code, write_result).
    template <class Token = default_token>
    auto async_upsert_entities(std::vector<entity> entities, upsert_options options = {}, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, write_result)>(
            std::forward<Token>(token), [this, e = std::move(entities), o = std::move(options)](auto h) mutable {
                upsert_impl(std::move(e), std::move(o), std::move(h));
            });
    }

    /// Deletes entities through the bulk delete route, at most delete_batch_size per request and
    /// up to max_concurrent_requests requests at once. Entities that do not exist count as
    /// deleted. Errors, write_result::pending and cancellation are as for async_upsert_entities.
    /// Completion: void(error_code, write_result).
    template <class Token = default_token>
    auto async_delete_entities(std::vector<entity> entities, delete_options options = {}, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, write_result)>(
            std::forward<Token>(token), [this, e = std::move(entities), o = std::move(options)](auto h) mutable {
                delete_impl(std::move(e), std::move(o), std::move(h));
            });
    }

    /// Sends an authenticated request to `path` under `/v1` and returns the response as data.
    /// Completion: void(error_code, http::client_response).
    template <class Token = default_token>
    auto async_call(std::string method, std::string path, std::optional<boost::json::value> body = std::nullopt,
                    bool retryable = false, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, http::client_response)>(
            std::forward<Token>(token),
            [this, m = std::move(method), p = std::move(path), b = std::move(body), retryable](auto h) mutable {
                call_impl(std::move(m), std::move(p), std::move(b), retryable, std::move(h));
            });
    }

    client_config const& config() const noexcept;
    boost::asio::any_io_executor get_executor() const noexcept;

    struct impl;

private:
    void get_integration_impl(
        boost::asio::any_completion_handler<void(boost::system::error_code, std::optional<boost::json::object>)> h);
    void create_integration_impl(boost::json::object body,
                                 boost::asio::any_completion_handler<void(boost::system::error_code, boost::json::object)> h);
    void patch_integration_impl(boost::json::object body,
                                boost::asio::any_completion_handler<void(boost::system::error_code, boost::json::object)> h);
    void patch_integration_config_impl(
        boost::json::object config, bool skip_resync,
        boost::asio::any_completion_handler<void(boost::system::error_code, boost::json::object)> h);
    void update_resync_state_impl(
        resync_state state, boost::asio::any_completion_handler<void(boost::system::error_code, boost::json::object)> h);
    void get_resync_request_impl(
        boost::asio::any_completion_handler<void(boost::system::error_code, std::optional<boost::json::object>)> h);
    void datasource_entities_impl(
        datasource_query query,
        boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<entity_ref>)> h);
    void search_impl(
        boost::json::object query, search_options options,
        boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<boost::json::object>)> h);
    void get_blueprint_impl(
        std::string identifier,
        boost::asio::any_completion_handler<void(boost::system::error_code, std::optional<boost::json::object>)> h);
    void create_blueprint_impl(
        boost::json::object body, boost::asio::any_completion_handler<void(boost::system::error_code, boost::json::object)> h);
    void patch_blueprint_impl(
        std::string identifier, boost::json::object body,
        boost::asio::any_completion_handler<void(boost::system::error_code, boost::json::object)> h);
    void upsert_impl(std::vector<entity> entities, upsert_options options,
                     boost::asio::any_completion_handler<void(boost::system::error_code, write_result)> h);
    void delete_impl(std::vector<entity> entities, delete_options options,
                     boost::asio::any_completion_handler<void(boost::system::error_code, write_result)> h);
    void call_impl(std::string method, std::string path, std::optional<boost::json::value> body, bool retryable,
                   boost::asio::any_completion_handler<void(boost::system::error_code, http::client_response)> h);

    std::shared_ptr<impl> impl_;
};

} // namespace ocean::port
