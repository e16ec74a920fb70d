// Event listeners: what triggers a resync (POLLING, ONCE, WEBHOOKS_ONLY, WEBHOOK).
#include "lifecycle/integration_impl.hpp"

#include <ocean/error.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace ocean {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

} // namespace

asio::awaitable<bool> integration::impl::sleep_unless_stopped(std::chrono::milliseconds duration)
{
    if (stopping)
        co_return false;
    asio::steady_timer timer(strand, duration);
    co_await (timer.async_wait(asio::as_tuple(asio::use_awaitable)) ||
              stop_timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    co_return !stopping;
}

asio::awaitable<std::optional<std::string>> integration::impl::read_resync_request()
{
    auto const path = "/integration/" + config.integration_identifier + "/resync-request";
    auto [ec, response] =
        co_await port.async_call("GET", path, std::nullopt, true, asio::as_tuple(asio::use_awaitable));
    if (ec) {
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec, "reading the resync request");
        spdlog::warn("polling: reading the resync request failed: {}", ec.message());
        co_return std::nullopt;
    }
    if (response.status != 200) {
        spdlog::warn("polling: reading the resync request returned HTTP {}", response.status);
        co_return std::nullopt;
    }
    boost::system::error_code parse_error;
    auto const document = json::parse(response.body, parse_error);
    json::value const* updated = nullptr;
    if (!parse_error && document.is_object())
        if (auto const* request = document.get_object().if_contains("request"); request && request->is_object())
            updated = request->get_object().if_contains("updatedAt");
    if (updated == nullptr || !updated->is_string()) {
        spdlog::warn("polling: the resync request has no \"request.updatedAt\"");
        co_return std::nullopt;
    }
    co_return std::string(updated->get_string());
}

asio::awaitable<void> integration::impl::run_polling()
{
    // Requests older than the start are covered by the resync on start.
    auto watermark = co_await read_resync_request();
    if (config.resync_on_start && !stopping)
        co_await sync_raw_all();

    while (co_await sleep_unless_stopped(config.polling_interval)) {
        auto const requested = co_await read_resync_request();
        if (!requested || stopping)
            continue;
        // ISO 8601 UTC timestamps of one format order as strings.
        if (watermark && *requested <= *watermark)
            continue;
        spdlog::info("polling: Port requested a resync at {}", *requested);
        watermark = requested;
        co_await sync_raw_all();
    }
}

asio::awaitable<void> integration::impl::run_once()
{
    if (!has_resync_handlers()) {
        spdlog::error("ONCE listener: no on_resync handler is registered, so there is nothing to resync");
        listener_error = make_error_code(error::invalid_config);
    } else {
        auto const result = co_await sync_raw_all();
        if (result.status == resync_result::state::aborted) {
            listener_error = asio::error::operation_aborted;
        } else if (result.status == resync_result::state::failed) {
            listener_error = make_error_code(error::protocol_error);
            for (auto const& k : result.kinds)
                if (k.error && k.code) {
                    listener_error = k.code;
                    break;
                }
        }
    }
    spdlog::info("ONCE listener: the resync is over; stopping");
    begin_stop();
}

asio::awaitable<void> integration::impl::run_listener()
{
    auto const& type = config.event_listener_type;
    std::exception_ptr failure;
    try {
        if (type == "ONCE") {
            co_await run_once();
        } else if (type == "POLLING" && has_resync_handlers()) {
            co_await run_polling();
        } else {
            if (type == "POLLING")
                spdlog::info("POLLING listener: no on_resync handler is registered; no resync will run");
            // WEBHOOKS_ONLY and WEBHOOK wait for stop(); WEBHOOK resyncs come through POST /resync.
            if (!stopping)
                co_await stop_timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (boost::system::system_error const& e) {
            if (e.code() != asio::error::operation_aborted && e.code() != error::stopping)
                spdlog::error("event listener {} failed: {}", type, e.what());
        } catch (std::exception const& e) {
            spdlog::error("event listener {} failed: {}", type, e.what());
        }
        // A ONCE resync that stop() prevented or aborted is not a failed one.
        if (type == "ONCE" && !listener_error)
            listener_error = stopping ? boost::system::error_code(asio::error::operation_aborted)
                                      : make_error_code(error::protocol_error);
    }
}

asio::awaitable<bool> integration::impl::accept_resync_request()
{
    if (stopping || !processor)
        co_return false;
    auto self = shared_from_this();
    asio::co_spawn(strand, sync_raw_all(), [self](std::exception_ptr failure, resync_result const&) {
        if (!failure)
            return;
        try {
            std::rethrow_exception(failure);
        } catch (std::exception const& e) {
            spdlog::error("resync requested through POST /resync failed: {}", e.what());
        }
    });
    spdlog::info("Port requested a resync through POST /resync");
    co_return true;
}

void integration::impl::add_webhook_listener_route()
{
    // Port calls {appHost}/resync, at the root, as the changelog destination of this integration.
    // Handlers run on the server's executor; the integration's state is read on its strand.
    server.router().add("POST", "/resync", [this](http::request const&) -> asio::awaitable<http::response> {
        auto const accepted =
            co_await asio::co_spawn(strand, [this] { return accept_resync_request(); }, asio::use_awaitable);
        if (!accepted)
            co_return http::response::error(503, "unavailable",
                                            "the integration is starting or stopping; no resync was started");
        json::object body;
        body["status"] = "accepted";
        co_return http::response::json(body, 202);
    });
}

} // namespace ocean
