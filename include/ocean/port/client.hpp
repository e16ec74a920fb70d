// Client for Port's REST API: token auth, integration object, entity upsert and delete.
#pragma once

#include <ocean/detail/async.hpp>
#include <ocean/http/client.hpp>
#include <ocean/port/entity.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

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
    /// Refresh the token this long before it expires.
    std::chrono::seconds token_refresh_margin{60};
};

struct upsert_options {
    bool merge = true;
    bool create_missing_related_entities = true;
    user_agent_type agent = user_agent_type::exporter;
    /// Sent as `ocean_info_event_type` (resync, http_request, ...).
    std::string event_type = "http_request";
};

struct delete_options {
    bool delete_dependents = false;
    user_agent_type agent = user_agent_type::exporter;
    std::string event_type = "http_request";
};

/// One entity that Port did not accept.
struct entity_failure {
    std::string blueprint;
    std::string identifier;
    unsigned status = 0;
    std::string error;
    std::string message;
};

/// The outcome of a batch write: what succeeded and, per entity, what did not.
struct write_result {
    std::size_t succeeded = 0;
    std::vector<entity_failure> failures;
    /// Identifiers Port stored or deleted, as `blueprint/identifier`.
    std::vector<std::string> done;
};

/// A Port API client. Operations may overlap; the client serialises its own state on an
/// internal strand, so one instance may be shared by coroutines on several threads.
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
    /// nullopt when Port answers 404.
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

    /// Upserts entities through the bulk route, grouped by blueprint and split by count and body
    /// size; a 413 falls back to single upserts. Per-entity rejections are in the result; the
    /// error_code is set only when the operation as a whole failed (network, auth, retries used up).
    /// Completion: void(error_code, write_result).
    template <class Token = default_token>
    auto async_upsert_entities(std::vector<entity> entities, upsert_options options = {}, Token&& token = {})
    {
        return detail::initiate<void(boost::system::error_code, write_result)>(
            std::forward<Token>(token), [this, e = std::move(entities), o = std::move(options)](auto h) mutable {
                upsert_impl(std::move(e), std::move(o), std::move(h));
            });
    }

    /// Deletes entities through the bulk delete route, at most delete_batch_size per request.
    /// Entities that do not exist count as deleted. Completion: void(error_code, write_result).
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
    void upsert_impl(std::vector<entity> entities, upsert_options options,
                     boost::asio::any_completion_handler<void(boost::system::error_code, write_result)> h);
    void delete_impl(std::vector<entity> entities, delete_options options,
                     boost::asio::any_completion_handler<void(boost::system::error_code, write_result)> h);
    void call_impl(std::string method, std::string path, std::optional<boost::json::value> body, bool retryable,
                   boost::asio::any_completion_handler<void(boost::system::error_code, http::client_response)> h);

    std::shared_ptr<impl> impl_;
};

} // namespace ocean::port
