#include "http/response_head.hpp"

#include <boost/beast/http/status.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <chrono>
#include <ctime>

namespace ocean::http::detail {
namespace {

bool server_owned(std::string_view name) noexcept
{
    // Dispatching on the length keeps this to one comparison for most names.
    switch (name.size()) {
    case 4: return iequals(name, "Date");
    case 10: return iequals(name, "Connection");
    case 12: return iequals(name, "X-Request-ID");
    case 14: return iequals(name, "Content-Length");
    case 17: return iequals(name, "Transfer-Encoding");
    default: return false;
    }
}

void append_number(std::string& out, std::uint64_t value)
{
    std::array<char, 20> digits{};
    auto const end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    out.append(digits.data(), end);
}

void append_two_digits(std::string& out, int value)
{
    out.push_back(static_cast<char>('0' + value / 10));
    out.push_back(static_cast<char>('0' + value % 10));
}

// Returns the current time as an RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
// Each thread formats it once per second. The names are spelled out because strftime follows
// the process locale.
std::string_view http_date()
{
    thread_local std::time_t cached_second = -1;
    thread_local std::string cached;
    auto const now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    if (now == cached_second)
        return cached;

    static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm utc{};
    gmtime_r(&now, &utc);
    cached.clear();
    cached.append(days[static_cast<std::size_t>(utc.tm_wday)]).append(", ");
    append_two_digits(cached, utc.tm_mday);
    cached.push_back(' ');
    cached.append(months[static_cast<std::size_t>(utc.tm_mon)]).push_back(' ');
    append_number(cached, static_cast<std::uint64_t>(utc.tm_year) + 1900);
    cached.push_back(' ');
    append_two_digits(cached, utc.tm_hour);
    cached.push_back(':');
    append_two_digits(cached, utc.tm_min);
    cached.push_back(':');
    append_two_digits(cached, utc.tm_sec);
    cached.append(" GMT");
    cached_second = now;
    return cached;
}

void append_field(std::string& out, std::string_view name, std::string_view value)
{
    out.append(name).append(": ").append(value).append("\r\n");
}

} // namespace

bool format_response_head(std::string& out, response const& r, unsigned version, bool keep_alive,
                          std::string_view request_id)
{
    unsigned status = r.status;
    // A 1xx status cannot end an exchange: the client would keep waiting for the final response.
    if (status < 200 || status > 999) {
        spdlog::error("http response: status {} is not a valid final HTTP status; sending 500 (request id {})",
                      status, request_id);
        status = 500;
    }
    bool const has_body = status >= 200 && status != 204 && status != 304;

    out.clear();
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(out, status);
    out.push_back(' ');
    // The reason phrase is optional, and Beast has none for unregistered codes such as 418.
    auto const reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
    if (reason != "<unknown-status>")
        out.append(reason.data(), reason.size());
    out.append("\r\n");

    for (auto const [name, value] : r.headers) {
        if (server_owned(name))
            continue;
        if (!is_token(name) || !is_safe_field_value(value)) {
            // The value is not logged, because it may contain a secret.
            spdlog::error("http response: dropped header field '{}' with an invalid name or a CR, LF or NUL in its "
                          "value (request id {})",
                          is_token(name) ? name : std::string_view("(invalid name)"), request_id);
            continue;
        }
        append_field(out, name, value);
    }

    append_field(out, "Date", http_date());
    append_field(out, "X-Request-ID", request_id);
    if (has_body) {
        out.append("Content-Length: ");
        append_number(out, r.body.size());
        out.append("\r\n");
    }
    if (version >= 11 && !keep_alive)
        append_field(out, "Connection", "close");
    else if (version < 11 && keep_alive)
        append_field(out, "Connection", "keep-alive");
    out.append("\r\n");
    return has_body;
}

} // namespace ocean::http::detail
