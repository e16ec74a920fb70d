// The response a route handler returns, and the exception that carries an HTTP error.
#pragma once

#include <ocean/http/fields.hpp>

#include <boost/json/fwd.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace ocean::http {

/// A response produced by a handler. The server adds Content-Length, Date and X-Request-ID.
struct response {
    unsigned status = 200;
    fields headers;
    std::string body;

    /// 200 with body `{"ok":true}`.
    static response ok();

    /// 202 with body `{"status":"accepted"}`.
    static response accepted();

    /// A JSON response with the given status.
    static response json(boost::json::value const& body, unsigned status = 200);

    /// The error shape of the whole SDK: `{"error": code, "message": message}`.
    static response error(unsigned status, std::string_view code, std::string_view message);

    /// A plain-text response.
    static response text(std::string body, unsigned status = 200,
                         std::string_view content_type = "text/plain; charset=utf-8");
};

/// Thrown from a handler (or from request::json()) to respond with an HTTP error at once.
/// The server turns it into response::error(status, code, what()).
class error_response : public std::runtime_error {
public:
    error_response(unsigned status, std::string code, std::string const& message)
        : std::runtime_error(message), status_(status), code_(std::move(code)), message_(message)
    {
    }

    unsigned status() const noexcept { return status_; }
    std::string const& code() const noexcept { return code_; }

    /// The whole message; what() stops at the first NUL byte, which a message quoting
    /// request data may contain.
    std::string const& message() const noexcept { return message_; }

private:
    unsigned status_;
    std::string code_;
    std::string message_;
};

/// Thrown from a handler to close the connection at once, without any response and with a TCP
/// reset, as a crashed or overloaded peer would. Meant for test servers that emulate failures.
class abort_connection : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace ocean::http
