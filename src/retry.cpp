#include <ocean/retry.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ocean {
namespace {

using std::chrono::milliseconds;

// Larger delays than this are clamped so that arithmetic on them cannot overflow. Ten years is
// far above any max_delay a caller would configure.
constexpr double max_representable_ms = 10.0 * 365 * 24 * 3600 * 1000;

milliseconds to_milliseconds(double ms) noexcept
{
    if (!(ms > 0))  // also catches NaN
        return milliseconds{0};
    return milliseconds{static_cast<milliseconds::rep>(std::llround(std::min(ms, max_representable_ms)))};
}

std::string_view trim(std::string_view s) noexcept
{
    auto const is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

// Parses a non-empty run of ASCII digits; values that overflow saturate at the type's maximum.
std::optional<std::uint64_t> parse_digits(std::string_view s) noexcept
{
    if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit))
        return std::nullopt;
    std::uint64_t value = 0;
    auto const [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc::result_out_of_range)
        return std::numeric_limits<std::uint64_t>::max();
    if (ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

// A cursor over an HTTP-date (RFC 9110 section 5.6.7). Every method consumes input only when it
// matches and reports whether it did.
class date_cursor {
public:
    explicit date_cursor(std::string_view text) noexcept : rest_(text) {}

    bool done() const noexcept { return rest_.empty(); }

    bool literal(std::string_view expected) noexcept
    {
        if (!rest_.starts_with(expected))
            return false;
        rest_.remove_prefix(expected.size());
        return true;
    }

    // Reads exactly `count` digits.
    std::optional<int> digits(std::size_t count) noexcept
    {
        if (rest_.size() < count)
            return std::nullopt;
        int value = 0;
        for (std::size_t i = 0; i < count; ++i) {
            if (!is_digit(rest_[i]))
                return std::nullopt;
            value = value * 10 + (rest_[i] - '0');
        }
        rest_.remove_prefix(count);
        return value;
    }

    // Reads one of `names` (case-sensitive, as the grammar requires) and returns its index.
    template <std::size_t N>
    std::optional<int> one_of(std::array<std::string_view, N> const& names) noexcept
    {
        for (std::size_t i = 0; i < N; ++i)
            if (literal(names[i]))
                return static_cast<int>(i);
        return std::nullopt;
    }

private:
    std::string_view rest_;
};

constexpr std::array<std::string_view, 7> short_day_names{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_day_names{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                         "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct date_parts {
    int year = 0;
    int month = 0;  // 1..12
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

bool read_time_of_day(date_cursor& in, date_parts& out) noexcept
{
    auto const hour = in.digits(2);
    if (!hour || !in.literal(":"))
        return false;
    auto const minute = in.digits(2);
    if (!minute || !in.literal(":"))
        return false;
    auto const second = in.digits(2);
    if (!second)
        return false;
    out.hour = *hour;
    out.minute = *minute;
    out.second = *second;
    return true;
}

bool read_month(date_cursor& in, date_parts& out) noexcept
{
    auto const month = in.one_of(month_names);
    if (!month)
        return false;
    out.month = *month + 1;
    return true;
}

// IMF-fixdate, the preferred form: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<date_parts> parse_imf_fixdate(std::string_view text) noexcept
{
    date_cursor in(text);
    date_parts out;
    if (!in.one_of(short_day_names) || !in.literal(", "))
        return std::nullopt;
    auto const day = in.digits(2);
    if (!day || !in.literal(" ") || !read_month(in, out) || !in.literal(" "))
        return std::nullopt;
    auto const year = in.digits(4);
    if (!year || !in.literal(" ") || !read_time_of_day(in, out) || !in.literal(" GMT") || !in.done())
        return std::nullopt;
    out.day = *day;
    out.year = *year;
    return out;
}

// The obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". `now_year` resolves the two-digit
// year: RFC 9110 reads a year that looks more than 50 years in the future as the most recent
// past year with the same last two digits.
std::optional<date_parts> parse_rfc850_date(std::string_view text, int now_year) noexcept
{
    date_cursor in(text);
    date_parts out;
    if (!in.one_of(long_day_names) || !in.literal(", "))
        return std::nullopt;
    auto const day = in.digits(2);
    if (!day || !in.literal("-") || !read_month(in, out) || !in.literal("-"))
        return std::nullopt;
    auto const short_year = in.digits(2);
    if (!short_year || !in.literal(" ") || !read_time_of_day(in, out) || !in.literal(" GMT") || !in.done())
        return std::nullopt;
    int year = now_year - now_year % 100 + *short_year;
    if (year > now_year + 50)
        year -= 100;
    out.day = *day;
    out.year = year;
    return out;
}

// The obsolete asctime form: "Sun Nov  6 08:49:37 1994", where a one-digit day is padded with a
// space.
std::optional<date_parts> parse_asctime_date(std::string_view text) noexcept
{
    date_cursor in(text);
    date_parts out;
    if (!in.one_of(short_day_names) || !in.literal(" ") || !read_month(in, out) || !in.literal(" "))
        return std::nullopt;
    std::optional<int> day;
    if (in.literal(" "))
        day = in.digits(1);
    else
        day = in.digits(2);
    if (!day || !in.literal(" ") || !read_time_of_day(in, out) || !in.literal(" "))
        return std::nullopt;
    auto const year = in.digits(4);
    if (!year || !in.done())
        return std::nullopt;
    out.day = *day;
    out.year = *year;
    return out;
}

// Converts validated calendar fields to a UTC time point; nullopt for dates such as 31 Feb.
// The result stays in seconds: a four-digit year can lie beyond 2262, the end of the range of
// libstdc++'s nanosecond system_clock::time_point, and converting it to that type overflows.
std::optional<std::chrono::sys_seconds> to_time_point(date_parts const& parts) noexcept
{
    using namespace std::chrono;
    year_month_day const date{year{parts.year}, month{static_cast<unsigned>(parts.month)},
                              day{static_cast<unsigned>(parts.day)}};
    // A leap second (60) is allowed by the grammar; it is read as the last second of the minute.
    if (!date.ok() || parts.hour > 23 || parts.minute > 59 || parts.second > 60)
        return std::nullopt;
    auto const second_of_minute = std::min(parts.second, 59);
    return sys_days{date} + hours{parts.hour} + minutes{parts.minute} + seconds{second_of_minute};
}

int current_year(std::chrono::system_clock::time_point now) noexcept
{
    using namespace std::chrono;
    return static_cast<int>(year_month_day{floor<days>(now)}.year());
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                        std::chrono::system_clock::time_point now)
{
    std::optional<date_parts> parts = parse_imf_fixdate(text);
    if (!parts)
        parts = parse_rfc850_date(text, current_year(now));
    if (!parts)
        parts = parse_asctime_date(text);
    if (!parts)
        return std::nullopt;
    return to_time_point(*parts);
}

// Both sides are compared in milliseconds, which hold any four-digit year. `when` is a whole
// second, so flooring `now` gives the same result as rounding the difference up.
milliseconds wait_until(std::chrono::sys_seconds when, std::chrono::system_clock::time_point now)
{
    auto const when_ms = std::chrono::time_point_cast<milliseconds>(when);
    auto const now_ms = std::chrono::floor<milliseconds>(now);
    if (when_ms <= now_ms)
        return milliseconds{0};
    return when_ms - now_ms;
}

} // namespace

std::chrono::milliseconds retry_policy::base_delay(unsigned attempt) const noexcept
{
    if (attempt < 2)
        return milliseconds{0};
    // Computed in floating point: a large attempt number would overflow an integer power, while
    // a double saturates to infinity and is then capped.
    double const scaled = static_cast<double>(initial_delay.count()) * std::pow(multiplier, attempt - 2.0);
    return std::min(to_milliseconds(scaled), std::max(max_delay, milliseconds{0}));
}

std::chrono::milliseconds retry_policy::delay(unsigned attempt, double unit_random) const noexcept
{
    double const spread = std::clamp(std::isnan(jitter) ? 0.0 : jitter, 0.0, 1.0);
    double const r = std::clamp(std::isnan(unit_random) ? 0.5 : unit_random, 0.0, 1.0);
    double const factor = 1.0 + spread * (2.0 * r - 1.0);
    // max_delay stays a hard ceiling, so jitter can only shorten a delay that is already capped.
    auto const jittered = to_milliseconds(static_cast<double>(base_delay(attempt).count()) * factor);
    return std::min(jittered, std::max(max_delay, milliseconds{0}));
}

std::optional<std::chrono::milliseconds> retry_policy::next_delay(unsigned attempt, std::chrono::milliseconds elapsed,
                                                                  std::optional<std::chrono::milliseconds> server_hint,
                                                                  double unit_random) const noexcept
{
    if (attempt < 2 || attempt > max_attempts)
        return std::nullopt;
    bool const has_budget = total_budget > milliseconds{0};
    if (has_budget && elapsed >= total_budget)
        return std::nullopt;

    milliseconds wait = server_hint ? std::clamp(*server_hint, milliseconds{0}, std::max(max_delay, milliseconds{0}))
                                    : delay(attempt, unit_random);
    // A retry that would start after the budget ends is refused now rather than after the sleep.
    if (has_budget && elapsed + wait >= total_budget)
        return std::nullopt;
    return wait;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now)
{
    value = trim(value);
    if (value.empty())
        return std::nullopt;
    if (is_digit(value.front())) {
        auto const seconds = parse_digits(value);
        if (!seconds)
            return std::nullopt;
        return to_milliseconds(static_cast<double>(*seconds) * 1000.0);
    }
    auto const when = parse_http_date(value, now);
    if (!when)
        return std::nullopt;
    return wait_until(*when, now);
}

std::optional<std::chrono::milliseconds> parse_ratelimit_reset(std::string_view value,
                                                               std::chrono::system_clock::time_point now)
{
    value = trim(value);
    // Only plain non-negative decimals: from_chars alone would also take "inf", "nan" and
    // exponents, none of which a server means here.
    if (value.empty() || std::count(value.begin(), value.end(), '.') > 1 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return is_digit(c) || c == '.'; }) ||
        !std::any_of(value.begin(), value.end(), is_digit))
        return std::nullopt;

    double number = 0;
    auto const [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc{} || end != value.data() + value.size() || !std::isfinite(number))
        return std::nullopt;

    if (number > 10'000) {
        // Subtracting in floating point keeps an absurd epoch value from overflowing the clock.
        double const now_ms = std::chrono::duration<double, std::milli>(now.time_since_epoch()).count();
        return to_milliseconds(std::ceil(number * 1000.0 - now_ms));
    }
    return to_milliseconds(std::ceil(number * 1000.0));
}

} // namespace ocean
