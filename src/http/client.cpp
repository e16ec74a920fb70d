#include <ocean/http/client.hpp>

#include <ocean/error.hpp>

#include "detail/launch.hpp"
#include "http/client_connection.hpp"
#include "http/rate_pacer.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/system_error.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <mutex>
#include <random>
#include <vector>

namespace ocean::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view default_user_agent = "ocean-cpp/0.1";

using beast_request = beast::http::request<beast::http::string_body>;

/// A request URL split into what the connection, the request line and the logs need.
struct parsed_url {
    detail::origin target;
    /// Path and query for the request line; the fragment is dropped.
    std::string request_target;
    std::string host_header;
    /// Scheme, authority and path without the query, which may carry tokens.
    std::string loggable;
};

// Returns the URL up to its query, so that an error log never shows query parameters.
std::string_view strip_query(std::string_view url) noexcept
{
    return url.substr(0, url.find_first_of("?#"));
}

std::optional<parsed_url> parse_url(std::string_view text)
{
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed)
        return std::nullopt;
    boost::urls::url_view const& url = *parsed;

    bool const is_https = url.scheme_id() == boost::urls::scheme::https;
    if ((!is_https && url.scheme_id() != boost::urls::scheme::http) || !url.has_authority())
        return std::nullopt;
    // Credentials in a URL would be sent nowhere and easily logged by mistake; pass an
    // Authorization header instead.
    if (url.has_userinfo())
        return std::nullopt;
    if (url.encoded_host().empty())
        return std::nullopt;
    if (url.has_port() && !url.port().empty() && url.port_number() == 0)
        return std::nullopt;

    parsed_url out;
    out.target.tls = is_https;
    out.target.host = url.host_address();
    bool const explicit_port = url.has_port() && !url.port().empty();
    out.target.port = explicit_port ? std::string(url.port()) : std::string(is_https ? "443" : "80");

    out.request_target = url.encoded_target();
    if (out.request_target.empty() || out.request_target.front() != '/')
        out.request_target.insert(0, "/");

    out.host_header = url.encoded_host();
    if (explicit_port) {
        out.host_header += ':';
        out.host_header += url.port();
    }

    out.loggable = std::string(url.scheme()) + "://" + out.host_header + std::string(url.encoded_path());
    return out;
}

bool is_idempotent(std::string_view method) noexcept
{
    constexpr std::array<std::string_view, 6> idempotent{"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    return std::find(idempotent.begin(), idempotent.end(), method) != idempotent.end();
}

bool is_retryable_status(unsigned status) noexcept
{
    return status == 408 || status == 429 || status == 502 || status == 503 || status == 504;
}

// Errors that a new attempt may not hit again: the connection failed, broke or timed out.
// TLS verification failures, malformed responses and body limits are permanent.
bool is_retryable_error(error_code const& ec) noexcept
{
    if (ec == error::timeout)
        return true;
    if (ec == beast::http::error::end_of_stream || ec == beast::http::error::partial_message)
        return true;
    if (ec == asio::ssl::error::stream_truncated)
        return true;
    if (ec == asio::error::eof || ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
        ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
        ec == asio::error::host_unreachable || ec == asio::error::network_unreachable ||
        ec == asio::error::network_down || ec == asio::error::network_reset || ec == asio::error::timed_out ||
        ec == asio::error::host_not_found_try_again)
        return true;
    return false;
}

beast_request build_request(client_request const& in, parsed_url const& url)
{
    if (!is_token(in.method))
        throw boost::system::system_error(beast::http::error::bad_method, "invalid HTTP method");

    beast_request out;
    out.version(11);
    auto const verb = beast::http::string_to_verb(in.method);
    if (verb == beast::http::verb::unknown)
        out.method_string(in.method);
    else
        out.method(verb);
    out.target(url.request_target);

    for (auto const& [name, value] : in.headers) {
        if (!is_token(name))
            throw boost::system::system_error(beast::http::error::bad_field, "invalid header name");
        if (!is_safe_field_value(value))
            throw boost::system::system_error(beast::http::error::bad_value, "invalid value of header " + std::string(name));
        // The client frames the body itself; a caller's framing headers could contradict it.
        if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding"))
            continue;
        out.insert(name, value);
    }
    if (!in.headers.get("Host"))
        out.set(beast::http::field::host, url.host_header);
    if (!in.headers.get("User-Agent"))
        out.set(beast::http::field::user_agent, default_user_agent);

    out.body() = in.body;
    out.prepare_payload();
    return out;
}

client_response to_client_response(beast::http::response<beast::http::string_body>&& in, unsigned attempts)
{
    client_response out;
    out.status = in.result_int();
    for (auto const& field : in)
        out.headers.add(field.name_string(), field.value());
    out.body = std::move(in.body());
    out.attempts = attempts;
    return out;
}

std::optional<std::uint64_t> parse_count(std::optional<std::string_view> value)
{
    if (!value || value->empty())
        return std::nullopt;
    std::uint64_t out = 0;
    auto const [end, ec] = std::from_chars(value->data(), value->data() + value->size(), out);
    if (ec != std::errc{} || end != value->data() + value->size())
        return std::nullopt;
    return out;
}

// Returns the server's requested delay: Retry-After for any retryable status, and
// x-ratelimit-reset only for 429. A 5xx reports a fault, not a spent window, so waiting for a
// rate-limit reset after it would only delay recovery.
std::optional<milliseconds> server_hint(client_response const& response)
{
    auto const now = std::chrono::system_clock::now();
    if (auto value = response.header("Retry-After"))
        if (auto hint = parse_retry_after(*value, now))
            return hint;
    if (response.status == 429)
        if (auto value = response.header("x-ratelimit-reset"))
            return parse_ratelimit_reset(*value, now);
    return std::nullopt;
}

double unit_random()
{
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

asio::awaitable<void> sleep_for(milliseconds duration)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(asio::use_awaitable);
}

// Throws operation_aborted when the operation was cancelled, whatever the last step reported.
asio::awaitable<void> throw_if_cancelled()
{
    auto const state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
}

std::string describe_seconds(milliseconds delay)
{
    return fmt::format("{:.3f} s", static_cast<double>(delay.count()) / 1000.0);
}

} // namespace

namespace detail {

/// The state that a client shares with its running operations, which keep it alive.
struct client_state {
    client_state(asio::any_io_executor ex, client_config cfg)
        : executor(std::move(ex)), config(std::move(cfg)), tls_context(asio::ssl::context::tls_client),
          pacer(detail::rate_pacer_settings{config.pacing_threshold, config.pacing_max_wait})
    {
        SSL_CTX_set_min_proto_version(tls_context.native_handle(), TLS1_2_VERSION);
        error_code ec;
        // Honours SSL_CERT_FILE and SSL_CERT_DIR, as OpenSSL's default paths always do.
        tls_context.set_default_verify_paths(ec);
        if (ec)
            spdlog::warn("HTTP client: the system CA store could not be loaded: {}", ec.message());
        if (!config.ca_file.empty()) {
            tls_context.load_verify_file(config.ca_file, ec);
            if (ec)
                throw config_error("client_config.ca_file: cannot load CA bundle '" + config.ca_file +
                                   "': " + ec.message());
        }
        if (!config.verify_peer)
            spdlog::warn("HTTP client: TLS certificate verification is off (client_config.verify_peer = false); "
                         "any server can impersonate the hosts this client calls");
    }

    /// Returns an idle connection to `target` that still looks usable, or null.
    std::unique_ptr<detail::connection> take_idle(detail::origin const& target)
    {
        std::lock_guard lock(mutex);
        auto it = idle.find(target.key());
        if (it == idle.end())
            return nullptr;
        auto& stack = it->second;
        while (!stack.empty()) {
            auto conn = std::move(stack.back());
            stack.pop_back();
            if (!conn->is_stale())
                return conn;
            conn->close();
        }
        return nullptr;
    }

    void give_back(detail::origin const& target, std::unique_ptr<detail::connection> conn)
    {
        std::lock_guard lock(mutex);
        auto& stack = idle[target.key()];
        if (closed || stack.size() >= config.max_idle_per_host) {
            conn->close();
            return;
        }
        stack.push_back(std::move(conn));
    }

    void close_idle()
    {
        std::lock_guard lock(mutex);
        closed = true;
        for (auto& [key, stack] : idle)
            for (auto& conn : stack)
                conn->close();
        idle.clear();
    }

    /// Reserves a pacing slot; observe_limits() or release_slot() must settle it.
    milliseconds reserve_slot(detail::origin const& target)
    {
        std::lock_guard lock(mutex);
        return pacer.reserve(target.key(), std::chrono::steady_clock::now());
    }

    void release_slot(detail::origin const& target)
    {
        std::lock_guard lock(mutex);
        pacer.release(target.key());
    }

    /// Settles a pacing slot with the response it got, recording the x-ratelimit-* values.
    void observe_limits(detail::origin const& target, client_response const& response)
    {
        auto const reset = response.header("x-ratelimit-reset");
        auto reset_in = reset ? parse_ratelimit_reset(*reset, std::chrono::system_clock::now()) : std::nullopt;
        std::lock_guard lock(mutex);
        pacer.observe(target.key(), parse_count(response.header("x-ratelimit-limit")),
                      parse_count(response.header("x-ratelimit-remaining")), reset_in,
                      std::chrono::steady_clock::now());
    }

    asio::any_io_executor executor;
    client_config config;
    asio::ssl::context tls_context;

    std::mutex mutex;  // guards everything below
    std::map<std::string, std::vector<std::unique_ptr<detail::connection>>> idle;
    detail::rate_pacer pacer;
    bool closed = false;
};

} // namespace detail

struct client::impl : detail::client_state {
    using client_state::client_state;
};

namespace {

// One attempt's pacing slot. The pacer counts the request as in flight until a response
// settles the slot; the destructor settles it as unanswered after an error or cancellation.
class pacing_slot {
public:
    pacing_slot(std::shared_ptr<detail::client_state> state, detail::origin const& target)
        : state_(std::move(state)), target_(&target)
    {
    }
    pacing_slot(pacing_slot const&) = delete;
    pacing_slot& operator=(pacing_slot const&) = delete;

    ~pacing_slot() { release(); }

    void settle(client_response const& response)
    {
        if (state_)
            state_->observe_limits(*target_, response);
        state_.reset();
    }

    void release()
    {
        if (state_)
            state_->release_slot(*target_);
        state_.reset();
    }

private:
    std::shared_ptr<detail::client_state> state_;
    detail::origin const* target_;
};

// Runs one attempt: takes a pooled connection or opens one, then exchanges the request. A pooled
// connection that fails before any response byte was most likely closed by the server while
// idle, so the request is sent once more on a fresh connection without counting an attempt.
asio::awaitable<detail::exchange_result> run_attempt(std::shared_ptr<detail::client_state> const& self,
                                                     parsed_url const& url, beast_request const& request,
                                                     milliseconds timeout)
{
    auto conn = self->take_idle(url.target);
    bool reused = conn != nullptr;
    detail::exchange_settings const exchange{timeout, self->config.max_response_body};

    for (;;) {
        if (!conn) {
            conn = url.target.tls ? std::make_unique<detail::connection>(self->executor, self->tls_context)
                                  : std::make_unique<detail::connection>(self->executor);
            detail::connect_settings const settings{&self->tls_context, self->config.verify_peer,
                                                    self->config.connect_timeout};
            auto ec = co_await detail::async_open(*conn, url.target, settings);
            if (ec) {
                conn->close();
                co_return detail::exchange_result{ec};
            }
        }

        auto result = co_await detail::async_exchange(*conn, request, exchange);
        if (!result.error) {
            if (result.reusable)
                self->give_back(url.target, std::move(conn));
            else
                conn->close();
            co_return result;
        }

        conn->close();
        conn.reset();
        bool const stale_connection = reused && !result.got_response_bytes && result.error != error::timeout &&
                                      result.error != asio::error::operation_aborted;
        if (!stale_connection)
            co_return result;
        spdlog::debug("HTTP {} {}: reused connection failed ({}); sending again on a new connection",
                      request.method_string(), url.loggable, result.error.message());
        reused = false;
    }
}

// Sends a request with pacing and retries; the body of client::async_send.
asio::awaitable<client_response> run_send(std::shared_ptr<detail::client_state> self, client_request request)
{
    // Beast's HTTP operations honour only terminal cancellation, so every request the caller
    // makes is passed down as terminal. The connection in use is then closed, never reused, and
    // whether the server already acted on the request is unknown, as after any cancelled send.
    co_await asio::this_coro::reset_cancellation_state(
        asio::enable_total_cancellation(), [](asio::cancellation_type type) {
            return type == asio::cancellation_type::none ? type : asio::cancellation_type::all;
        });

    auto const url = parse_url(request.url);
    if (!url) {
        spdlog::error("HTTP {} not sent: invalid URL '{}' (expected an absolute http or https URL without "
                      "credentials)",
                      request.method, strip_query(request.url));
        throw boost::system::system_error(error::invalid_url);
    }
    auto const beast_req = build_request(request, *url);

    auto const& policy = self->config.retry;
    bool const may_retry = request.retryable || is_idempotent(request.method);
    milliseconds const timeout = request.timeout.value_or(self->config.request_timeout);
    auto const started = std::chrono::steady_clock::now();

    for (unsigned attempt = 1;; ++attempt) {
        auto const wait = self->reserve_slot(url->target);
        pacing_slot slot(self, url->target);
        if (wait > milliseconds{0}) {
            spdlog::debug("HTTP {} {}: pacing for the rate limit, waiting {}", request.method, url->loggable,
                          describe_seconds(wait));
            co_await sleep_for(wait);
        }

        auto result = co_await run_attempt(self, *url, beast_req, timeout);
        co_await throw_if_cancelled();

        std::optional<client_response> response;
        std::optional<milliseconds> hint;
        std::string reason;
        if (!result.error) {
            response = to_client_response(std::move(result.response), attempt);
            slot.settle(*response);
            if (!may_retry || !is_retryable_status(response->status))
                co_return std::move(*response);
            hint = server_hint(*response);
            reason = fmt::format("status {}", response->status);
        }
        else {
            slot.release();
            if (!may_retry || !is_retryable_error(result.error))
                throw boost::system::system_error(result.error);
            reason = result.error.message();
        }

        auto const elapsed =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
        auto const delay = policy.next_delay(attempt + 1, elapsed, hint, unit_random());
        if (!delay) {
            spdlog::warn("HTTP {} {} failed ({}) on attempt {}/{}; no retry left within the policy", request.method,
                         url->loggable, reason, attempt, policy.max_attempts);
            if (response)
                co_return std::move(*response);
            throw boost::system::system_error(result.error);
        }

        spdlog::warn("HTTP {} {} failed ({}); retrying as attempt {}/{} in {}", request.method, url->loggable, reason,
                     attempt + 1, policy.max_attempts, describe_seconds(*delay));
        co_await sleep_for(*delay);
    }
}

} // namespace

client::client(asio::any_io_executor executor, client_config config)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(config)))
{
}

client::~client()
{
    // Operations still running own the implementation and finish normally. Connections they
    // return afterwards are closed, not pooled.
    impl_->close_idle();
}

asio::any_io_executor client::get_executor() const noexcept
{
    return impl_->executor;
}

client_config const& client::config() const noexcept
{
    return impl_->config;
}

void client::send_impl(client_request request,
                       asio::any_completion_handler<void(error_code, client_response)> handler)
{
    ocean::detail::launch(impl_->executor, run_send(impl_, std::move(request)), std::move(handler));
}

} // namespace ocean::http
