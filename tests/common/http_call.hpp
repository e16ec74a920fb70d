// A small blocking HTTP/1.1 client for test-side calls to a server on loopback.
#pragma once

#include <ocean/http/fields.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ocean::test {

/// One response as received.
struct http_result {
    unsigned status = 0;
    http::fields headers;
    std::string body;

    /// Returns the body parsed as JSON; throws std::runtime_error quoting the body when it is not.
    boost::json::value json() const;

    std::optional<std::string_view> header(std::string_view name) const noexcept { return headers.get(name); }
};

/// A request to send. `target` is the path with its query, e.g. `/v1/entities/search?x=1`.
struct http_call_options {
    std::string method = "GET";
    std::string target = "/";
    std::string body;
    /// Sent as given; Host, Content-Length and Connection: close are added.
    http::fields headers;
    /// Applies to connecting, writing and reading, each on its own.
    std::chrono::milliseconds timeout{10'000};
};

/// Sends one request on a new connection to host:port and reads the whole response. A body is
/// sent with `Content-Type: application/json` unless the headers name another type. Throws
/// boost::system::system_error when the connection fails, times out or closes without a response.
http_result http_call(std::string const& host, std::uint16_t port, http_call_options const& options);

} // namespace ocean::test
