// One accepted webhook delivery, and what a processor returns for it.
#pragma once

#include <ocean/http/fields.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ocean::live_events {

/// A delivery as the inbox stores it. The raw body and the headers are kept byte for byte, so a
/// processor sees after a restart exactly what the sender sent.
struct webhook_event {
    /// Inbox sequence number, unique for the life of the inbox file; used as the event id in logs
    /// and on the admin routes.
    std::uint64_t sequence = 0;
    /// The registered path, e.g. `/github` (served at `/integration/github`).
    std::string path;
    /// The sender's delivery id (X-GitHub-Delivery, webhook-id, ...), empty when none was sent.
    std::string delivery_id;
    /// Events with the same non-empty key are applied in arrival order.
    std::string ordering_key;
    std::chrono::system_clock::time_point accepted_at;
    http::fields headers;
    std::string body;
    /// The body parsed as JSON.
    boost::json::value payload;
};

/// Raw third-party items that one event produced for one resource of the port-app-config.
struct event_results {
    /// Items to map and upsert. Items that fail the resource's selector are deleted instead.
    std::vector<boost::json::value> updated;
    /// Items to map and delete.
    std::vector<boost::json::value> deleted;
};

/// Thrown by handle_event for a failure that a retry cannot fix (the object is gone, the payload
/// is unusable). The event goes to the dead letters at once.
class permanent_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace ocean::live_events
