#include "iso_time.hpp"

#include <cstdio>

namespace ocean::emulator {
namespace {

// Reads exactly `count` decimal digits at `position`, advancing it; nullopt when they are not there.
std::optional<int> read_digits(std::string_view text, std::size_t& position, std::size_t count)
{
    if (position + count > text.size())
        return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        char const c = text[position + i];
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    position += count;
    return value;
}

bool expect(std::string_view text, std::size_t& position, char c)
{
    if (position >= text.size() || text[position] != c)
        return false;
    ++position;
    return true;
}

} // namespace

std::string format_iso_time(time_point time)
{
    using namespace std::chrono;
    auto const milliseconds_since_epoch = floor<milliseconds>(time);
    auto const day = floor<days>(milliseconds_since_epoch);
    year_month_day const date{day};
    hh_mm_ss const clock{milliseconds_since_epoch - day};
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
    return buffer;
}

std::optional<time_point> parse_iso_time(std::string_view text)
{
    using namespace std::chrono;
    std::size_t position = 0;
    auto const y = read_digits(text, position, 4);
    if (!y || !expect(text, position, '-'))
        return std::nullopt;
    auto const mo = read_digits(text, position, 2);
    if (!mo || !expect(text, position, '-'))
        return std::nullopt;
    auto const d = read_digits(text, position, 2);
    if (!d || !(expect(text, position, 'T') || expect(text, position, 't') || expect(text, position, ' ')))
        return std::nullopt;
    auto const h = read_digits(text, position, 2);
    if (!h || !expect(text, position, ':'))
        return std::nullopt;
    auto const mi = read_digits(text, position, 2);
    if (!mi || !expect(text, position, ':'))
        return std::nullopt;
    auto const s = read_digits(text, position, 2);
    if (!s)
        return std::nullopt;

    year_month_day const date{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
    if (!date.ok() || *h > 23 || *mi > 59 || *s > 60)
        return std::nullopt;

    milliseconds fraction{0};
    if (expect(text, position, '.')) {
        int scale = 100;
        std::size_t digits = 0;
        while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
            fraction += milliseconds{(text[position] - '0') * scale};
            scale /= 10;
            ++position;
            ++digits;
        }
        if (digits == 0)
            return std::nullopt;
    }

    minutes offset{0};
    if (position < text.size()) {
        char const zone = text[position];
        if (zone == 'Z' || zone == 'z') {
            ++position;
        } else if (zone == '+' || zone == '-') {
            ++position;
            auto const offset_hours = read_digits(text, position, 2);
            if (!offset_hours || !expect(text, position, ':'))
                return std::nullopt;
            auto const offset_minutes = read_digits(text, position, 2);
            if (!offset_minutes)
                return std::nullopt;
            offset = hours{*offset_hours} + minutes{*offset_minutes};
            if (zone == '-')
                offset = -offset;
        }
    }
    if (position != text.size())
        return std::nullopt;

    auto const local = sys_days{date} + hours{*h} + minutes{*mi} + seconds{*s} + fraction;
    return time_point_cast<system_clock::duration>(local - offset);
}

long long epoch_seconds(time_point time)
{
    return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

} // namespace ocean::emulator
