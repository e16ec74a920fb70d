// Controls over the emulator's traffic: injected faults, the rate limit and the request log.
// Sans-I/O: callers pass "now", and the emulator turns decisions into delays and responses.
#pragma once

#include "iso_time.hpp"
#include "store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::emulator {

/// One injected fault, as posted to /_emulator/faults.
struct fault {
    std::uint64_t id = 0;
    /// An HTTP method, or "*" for any.
    std::string method = "*";
    /// A path pattern: `*` matches one segment, a final `**` matches the rest of the path.
    std::string path = "/**";
    /// When set, the fault hits only requests whose JSON body names this entity identifier, as
    /// `identifier` or in `entities` (objects or strings).
    std::optional<std::string> identifier;
    /// The status to respond with; 0 serves the request normally after the delay.
    unsigned status = 0;
    /// Requests still to hit; nullopt means until deleted.
    std::optional<std::size_t> remaining;
    std::chrono::milliseconds delay{0};
    /// The Retry-After value to send (seconds or an HTTP date, sent as given); null sends none.
    boost::json::value retry_after;
    /// Extra response headers.
    boost::json::object headers;
    /// The response body; null sends Port's error shape naming the fault.
    boost::json::value body;
    std::optional<time_point> expires_at;
    /// Close the connection without a response.
    bool reset_connection = false;

    boost::json::object to_json() const;
};

/// Returns whether `path` matches the fault pattern `pattern` (see fault::path).
bool path_matches(std::string_view pattern, std::string_view path);

/// Returns the entity identifiers a request body names: its `identifier`, and the identifiers of
/// its `entities` array, whose items are entities or identifier strings.
std::vector<std::string> body_identifiers(boost::json::value const& body);

/// The faults in force, matched in the order they were added.
class fault_table {
public:
    /// Adds a fault from its JSON description; 422 naming the bad field when it is invalid.
    api_result add(boost::json::value const& description, time_point now);

    /// Returns the first active fault that matches and counts the hit against it. `identifiers`
    /// are the entity identifiers that the request body names.
    std::optional<fault> take(std::string_view method, std::string_view path,
                              std::vector<std::string> const& identifiers, time_point now);

    void clear() { faults_.clear(); }

    boost::json::array to_json(time_point now);

private:
    void expire(time_point now);

    std::vector<fault> faults_;
    std::uint64_t next_id_ = 1;
};

/// `--rate-limit N/SECONDS`: at most `limit` requests per fixed window of `period`.
struct rate_limit {
    std::size_t limit = 0;
    std::chrono::seconds period{0};
};

/// Parses `N/SECONDS` with both numbers positive; nullopt otherwise.
std::optional<rate_limit> parse_rate_limit(std::string_view text);

/// The outcome of one request against the rate limit, with the values of the x-ratelimit-* headers.
struct rate_decision {
    bool allowed = true;
    std::size_t limit = 0;
    std::size_t remaining = 0;
    /// When the window ends, in UTC epoch seconds (x-ratelimit-reset).
    long long reset_epoch = 0;
    long long period_seconds = 0;
    /// Seconds until the window ends, at least 1 (Retry-After of a 429).
    long long retry_after_seconds = 0;
};

/// A fixed-window counter: the first request opens a window of `period`; past `limit` requests in
/// it, requests are rejected until it ends. Rejected requests do not extend the window.
class rate_limiter {
public:
    explicit rate_limiter(rate_limit limit) : limit_(limit) {}

    rate_decision admit(time_point now);
    void reset() { count_ = 0; window_start_.reset(); }

private:
    rate_limit limit_;
    std::optional<time_point> window_start_;
    std::size_t count_ = 0;
};

/// One /v1 request as logged.
struct request_record {
    std::string method;
    std::string path;
    std::string query;
    /// 0 when the connection was reset without a response.
    unsigned status = 0;
    time_point time;
};

/// The log of /v1 requests, oldest first. Past `capacity` records the oldest are dropped, so a
/// long demo run stays bounded in memory.
class request_log {
public:
    explicit request_log(std::size_t capacity = 100'000) : capacity_(capacity) {}

    void append(request_record record);
    void clear() { records_.clear(); }
    boost::json::array to_json() const;

private:
    std::size_t capacity_;
    std::deque<request_record> records_;
};

} // namespace ocean::emulator
