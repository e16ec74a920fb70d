// A scriptable HTTP/1.1 server on 127.0.0.1 for client tests, over TCP or TLS.
#pragma once

#include <ocean/http/fields.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocean::test {

/// What the peer does with one request. Replies are used in order, one per request, across all
/// connections; once the script runs out, the peer sends 200 with body "ok".
struct scripted_reply {
    enum class kind {
        /// Sends a complete response.
        respond,
        /// Sends nothing and waits until the client closes the connection.
        hang,
        /// Sends the status line, headers and part of the body, then resets the connection.
        reset_mid_body,
        /// Closes the connection without sending anything.
        close_without_reply,
    };

    kind action = kind::respond;
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// Wait before acting on the request.
    std::chrono::milliseconds delay{0};
    /// Closes the connection after the response, with `Connection: close`.
    bool close_after = false;

    /// 200 with `body`.
    static scripted_reply ok(std::string body = "ok");
    /// `status` with `body`.
    static scripted_reply with_status(unsigned status, std::string body = {});
    static scripted_reply hang();
    static scripted_reply reset_mid_body();
    static scripted_reply close_without_reply();

    /// Adds a response header; returns *this for chaining.
    scripted_reply& header(std::string name, std::string value);
};

/// A request as the peer received it.
struct received_request {
    std::string method;
    std::string target;
    ocean::http::fields headers;
    std::string body;
    /// Which connection carried it, counting accepted connections from 1.
    std::size_t connection = 0;
    std::chrono::steady_clock::time_point received_at;
};

/// PEM files of the peer's TLS identity.
struct tls_files {
    std::string certificate;
    std::string private_key;
};

/// The peer. It runs on the executor it is given, so the test's io_context drives both sides.
/// Its destructor stops it; sessions still pending then end with the io_context.
class fake_http_peer {
public:
    /// Listens on 127.0.0.1 at `port`, or at a port the system picks when it is zero; with `tls`,
    /// speaks HTTPS.
    explicit fake_http_peer(boost::asio::any_io_executor executor, std::optional<tls_files> tls = {},
                            unsigned short port = 0);
    ~fake_http_peer();
    fake_http_peer(fake_http_peer const&) = delete;
    fake_http_peer& operator=(fake_http_peer const&) = delete;

    /// Appends replies to the script.
    void script(std::vector<scripted_reply> replies);

    unsigned short port() const;

    /// Returns "http://127.0.0.1:<port><path>", or https with TLS.
    std::string url(std::string_view path = "/") const;

    /// Returns the requests received so far, in order of arrival.
    std::vector<received_request> requests() const;

    /// Returns how many connections the peer has accepted.
    std::size_t connections() const;

    /// Stops accepting and closes every open connection.
    void stop();

private:
    struct state;
    std::shared_ptr<state> state_;
};

} // namespace ocean::test
