// The interface an integration implements to turn webhook deliveries into Port entities.
#pragma once

#include <ocean/http/signature.hpp>
#include <ocean/live_events/webhook_event.hpp>
#include <ocean/mapping/port_app_config.hpp>
#include <ocean/retry.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::live_events {

/// One processor serves one family of events on a path; several processors may share a path.
/// The processor manager calls it from one strand, so an instance needs no locking of its own,
/// but calls for different events may overlap at their suspension points.
///
/// At the HTTP edge, before the sender gets its reply, the manager calls should_process_event,
/// then authenticate and validate_payload for every processor that claimed the event. A failure
/// sends the sender 401 or 422 and queues nothing. After the event is durable, a worker calls
/// should_process_event and get_matching_kinds again, then handle_event once per matching
/// resource of the port-app-config.
class webhook_processor {
public:
    virtual ~webhook_processor() = default;

    /// Returns true when this processor handles `event` (usually decided by an event-type header
    /// or a payload field).
    virtual boost::asio::awaitable<bool> should_process_event(webhook_event const& event) = 0;

    /// Returns the port-app-config kinds that `event` affects.
    virtual boost::asio::awaitable<std::vector<std::string>> get_matching_kinds(webhook_event const& event) = 0;

    /// Checks the delivery's signature or token over the raw `body` bytes. A `missing`,
    /// `mismatch` or `expired` status gets 401 and a `malformed` one 400; the reason is sent to
    /// the sender, so it must not contain a secret or an expected digest.
    virtual boost::asio::awaitable<http::verification> authenticate(std::string_view body,
                                                                    http::fields const& headers) = 0;

    /// Returns an empty string when `payload` has the shape this processor needs, otherwise a
    /// message naming the missing or wrong field (sent to the sender with status 422).
    virtual boost::asio::awaitable<std::string> validate_payload(boost::json::value const& payload) = 0;

    /// Fetches or builds the raw items that `event` changes for `resource`. Throwing retries the
    /// call under retry_policy() (permanent_error is not retried); when the retries or the
    /// processing deadline run out, the event goes to the dead letters.
    virtual boost::asio::awaitable<event_results> handle_event(webhook_event const& event,
                                                               mapping::resource_config const& resource) = 0;

    /// Returns the ordering key of `event`: events with equal keys are applied in arrival order,
    /// others in parallel. nullopt (the default) lets the event run in parallel with every other.
    virtual std::optional<std::string> ordering_key(webhook_event const& /*event*/) { return std::nullopt; }

    /// Returns the header that carries the sender's delivery id (for example `X-GitHub-Delivery`),
    /// or nullopt (the default) to use the manager's list of common headers.
    virtual std::optional<std::string> delivery_id_header() const { return std::nullopt; }

    /// Returns the policy for retrying handle_event, or nullopt (the default) for the manager's.
    virtual std::optional<retry_policy> handler_retry_policy() const { return std::nullopt; }
};

} // namespace ocean::live_events
