// ISO 8601 UTC timestamps with millisecond precision, the form Port uses for createdAt/updatedAt.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ocean::emulator {

using time_point = std::chrono::system_clock::time_point;

/// Formats `time` as `2024-05-01T12:30:45.123Z` (truncated to milliseconds).
std::string format_iso_time(time_point time);

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]`; a missing zone means UTC. Digits of
/// the fraction past milliseconds are ignored. Returns nullopt for anything else.
std::optional<time_point> parse_iso_time(std::string_view text);

/// Whole seconds since the Unix epoch.
long long epoch_seconds(time_point time);

} // namespace ocean::emulator
