#include "traffic.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace ocean::emulator {
namespace json = boost::json;

namespace {

std::vector<std::string_view> split_path(std::string_view path)
{
    std::vector<std::string_view> segments;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        auto const slash = path.find('/');
        segments.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash);
    }
    return segments;
}

std::optional<long long> parse_positive(std::string_view text)
{
    long long value = 0;
    auto const [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value <= 0)
        return std::nullopt;
    return value;
}

api_result invalid_fault(std::string message)
{
    return api_error(422, "invalid_request", "invalid fault: " + std::move(message));
}

} // namespace

bool path_matches(std::string_view pattern, std::string_view path)
{
    auto const expected = split_path(pattern);
    auto const actual = split_path(path);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] == "**" && i + 1 == expected.size())
            return true;
        if (i >= actual.size())
            return false;
        if (expected[i] != "*" && expected[i] != actual[i])
            return false;
    }
    return expected.size() == actual.size();
}

std::vector<std::string> body_identifiers(json::value const& body)
{
    std::vector<std::string> out;
    if (!body.is_object())
        return out;
    auto const& object = body.as_object();
    if (auto const* id = object.if_contains("identifier"); id && id->is_string())
        out.emplace_back(id->as_string());
    if (auto const* entities = object.if_contains("entities"); entities && entities->is_array()) {
        for (auto const& item : entities->as_array()) {
            if (item.is_string())
                out.emplace_back(item.as_string());
            else if (auto const* id = item.is_object() ? item.as_object().if_contains("identifier") : nullptr;
                     id && id->is_string())
                out.emplace_back(id->as_string());
        }
    }
    return out;
}

json::object fault::to_json() const
{
    json::object out{{"id", id},
                     {"method", method},
                     {"path", path},
                     {"identifier", identifier ? json::value(*identifier) : json::value(nullptr)},
                     {"status", status},
                     {"count", remaining ? json::value(*remaining) : json::value(nullptr)},
                     {"delay_ms", delay.count()},
                     {"retry_after", retry_after},
                     {"headers", headers},
                     {"body", body},
                     {"reset_connection", reset_connection}};
    out["expires_at"] = expires_at ? json::value(format_iso_time(*expires_at)) : json::value(nullptr);
    return out;
}

api_result fault_table::add(json::value const& description, time_point now)
{
    if (!description.is_object())
        return invalid_fault("the body must be a JSON object, got " + json::serialize(description));
    auto const& object = description.as_object();

    fault added;
    // Reads an integer from 0 to `max`; absent or null reads as 0. Larger values are rejected
    // rather than wrapped, so a typo cannot turn into a negative delay or a fault that never ends.
    auto non_negative = [&](std::string_view key, std::int64_t max) -> std::optional<std::int64_t> {
        auto const* value = object.if_contains(key);
        if (value == nullptr || value->is_null())
            return 0;
        if (value->is_int64() && value->as_int64() >= 0 && value->as_int64() <= max)
            return value->as_int64();
        return std::nullopt;
    };
    constexpr std::int64_t max_count = 1'000'000'000;
    constexpr std::int64_t max_delay_ms = 24LL * 3600 * 1000;
    constexpr std::int64_t max_duration_ms = 365LL * 24 * 3600 * 1000;

    if (auto const* method = object.if_contains("method"); method && !method->is_null()) {
        if (!method->is_string() || method->as_string().empty())
            return invalid_fault("\"method\" must be a method name or \"*\", got " + json::serialize(*method));
        added.method = std::string(method->as_string());
        std::transform(added.method.begin(), added.method.end(), added.method.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
    if (auto const* path = object.if_contains("path"); path && !path->is_null()) {
        if (!path->is_string() || !path->as_string().starts_with("/"))
            return invalid_fault("\"path\" must be a path pattern starting with '/', got " + json::serialize(*path));
        added.path = std::string(path->as_string());
    }

    if (auto const* identifier = object.if_contains("identifier"); identifier && !identifier->is_null()) {
        if (!identifier->is_string() || identifier->as_string().empty())
            return invalid_fault("\"identifier\" must be a non-empty entity identifier, got " + json::serialize(*identifier));
        added.identifier = std::string(identifier->as_string());
    }

    // 1xx statuses are not final responses: a client would wait for another one.
    auto const status = non_negative("status", 599);
    if (!status || (*status != 0 && *status < 200))
        return invalid_fault("\"status\" must be an HTTP status from 200 to 599, got " + json::serialize(object.at("status")));
    added.status = static_cast<unsigned>(*status);

    auto const count = non_negative("count", max_count);
    if (!count)
        return invalid_fault("\"count\" must be an integer from 0 to 1000000000, got " + json::serialize(object.at("count")));
    if (*count > 0)
        added.remaining = static_cast<std::size_t>(*count);

    auto const delay = non_negative("delay_ms", max_delay_ms);
    if (!delay)
        return invalid_fault("\"delay_ms\" must be an integer from 0 to 86400000 (one day), got " +
                             json::serialize(object.at("delay_ms")));
    added.delay = std::chrono::milliseconds(*delay);

    auto const duration = non_negative("duration_ms", max_duration_ms);
    if (!duration)
        return invalid_fault("\"duration_ms\" must be an integer from 0 to 31536000000 (one year), got " +
                             json::serialize(object.at("duration_ms")));
    if (*duration > 0)
        added.expires_at = now + std::chrono::milliseconds(*duration);

    if (auto const* retry_after = object.if_contains("retry_after"); retry_after && !retry_after->is_null()) {
        if (!retry_after->is_number() && !retry_after->is_string())
            return invalid_fault("\"retry_after\" must be a number of seconds or a string, got " +
                                 json::serialize(*retry_after));
        added.retry_after = *retry_after;
    }
    if (auto const* headers = object.if_contains("headers"); headers && !headers->is_null()) {
        bool const strings = headers->is_object() &&
                             std::all_of(headers->as_object().begin(), headers->as_object().end(),
                                         [](auto const& entry) { return entry.value().is_string(); });
        if (!strings)
            return invalid_fault("\"headers\" must be an object of strings, got " + json::serialize(*headers));
        added.headers = headers->as_object();
    }
    if (auto const* body = object.if_contains("body"))
        added.body = *body;
    if (auto const* reset = object.if_contains("reset_connection"); reset && !reset->is_null()) {
        if (!reset->is_bool())
            return invalid_fault("\"reset_connection\" must be true or false, got " + json::serialize(*reset));
        added.reset_connection = reset->as_bool();
    }
    if (added.status == 0 && added.delay.count() == 0 && !added.reset_connection)
        return invalid_fault("it needs a \"status\", a \"delay_ms\" or \"reset_connection\": true");

    added.id = next_id_++;
    faults_.push_back(added);
    return {201, json::object{{"ok", true}, {"fault", added.to_json()}}};
}

void fault_table::expire(time_point now)
{
    std::erase_if(faults_, [&](fault const& f) {
        return (f.expires_at && now >= *f.expires_at) || (f.remaining && *f.remaining == 0);
    });
}

std::optional<fault> fault_table::take(std::string_view method, std::string_view path,
                                       std::vector<std::string> const& identifiers, time_point now)
{
    expire(now);
    for (auto& candidate : faults_) {
        if (candidate.method != "*" && candidate.method != method)
            continue;
        if (!path_matches(candidate.path, path))
            continue;
        if (candidate.identifier &&
            std::find(identifiers.begin(), identifiers.end(), *candidate.identifier) == identifiers.end())
            continue;
        auto hit = candidate;
        if (candidate.remaining)
            --*candidate.remaining;
        expire(now);
        return hit;
    }
    return std::nullopt;
}

json::array fault_table::to_json(time_point now)
{
    expire(now);
    json::array out;
    for (auto const& f : faults_)
        out.push_back(f.to_json());
    return out;
}

std::optional<rate_limit> parse_rate_limit(std::string_view text)
{
    auto const slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    auto const limit = parse_positive(text.substr(0, slash));
    auto const period = parse_positive(text.substr(slash + 1));
    if (!limit || !period)
        return std::nullopt;
    return rate_limit{static_cast<std::size_t>(*limit), std::chrono::seconds(*period)};
}

rate_decision rate_limiter::admit(time_point now)
{
    if (!window_start_ || now >= *window_start_ + limit_.period) {
        window_start_ = now;
        count_ = 0;
    }
    ++count_;
    auto const window_end = *window_start_ + limit_.period;
    auto const left = std::chrono::ceil<std::chrono::seconds>(window_end - now);

    rate_decision decision;
    decision.allowed = count_ <= limit_.limit;
    decision.limit = limit_.limit;
    decision.remaining = count_ >= limit_.limit ? 0 : limit_.limit - count_;
    decision.reset_epoch = epoch_seconds(std::chrono::ceil<std::chrono::seconds>(window_end));
    decision.period_seconds = limit_.period.count();
    decision.retry_after_seconds = std::max<long long>(1, left.count());
    return decision;
}

void request_log::append(request_record record)
{
    records_.push_back(std::move(record));
    while (records_.size() > capacity_)
        records_.pop_front();
}

json::array request_log::to_json() const
{
    json::array out;
    for (auto const& record : records_)
        out.push_back(json::object{{"method", record.method},
                                   {"path", record.path},
                                   {"query", record.query},
                                   {"status", record.status},
                                   {"time", format_iso_time(record.time)}});
    return out;
}

} // namespace ocean::emulator
