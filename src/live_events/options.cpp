#include <ocean/error.hpp>
#include <ocean/live_events/processor_manager.hpp>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace ocean::live_events {
namespace {

std::optional<std::string> variable(char const* name)
{
    char const* value = std::getenv(name);
    if (value == nullptr || *value == '\0')
        return std::nullopt;
    return std::string(value);
}

std::optional<std::uint64_t> number(char const* name, std::uint64_t minimum)
{
    auto const text = variable(name);
    if (!text)
        return std::nullopt;
    std::uint64_t value = 0;
    auto const [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size() || value < minimum)
        throw config_error(std::string(name) + " must be a whole number of at least " + std::to_string(minimum) +
                           ", got '" + *text + "'");
    return value;
}

} // namespace

manager_options manager_options::from_environment()
{
    manager_options o;
    o.inbox_path = ".ocean/live-events.inbox";
    if (auto const path = variable("OCEAN__LIVE_EVENTS__INBOX_PATH"))
        o.inbox_path = *path;
    if (auto const durable = variable("OCEAN__LIVE_EVENTS__DURABLE")) {
        if (*durable == "false" || *durable == "0")
            o.inbox_path.clear();
        else if (*durable != "true" && *durable != "1")
            throw config_error("OCEAN__LIVE_EVENTS__DURABLE must be true or false, got '" + *durable + "'");
    }
    if (auto v = number("OCEAN__LIVE_EVENTS__INBOX_CAPACITY", 1))
        o.inbox_capacity = *v;
    if (auto v = number("OCEAN__LIVE_EVENTS__RETRY_AFTER_SECONDS", 1))
        o.retry_after_seconds = static_cast<unsigned>(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__WORKERS", 1))
        o.workers = *v;
    if (auto v = number("OCEAN__LIVE_EVENTS__DUPLICATE_WINDOW_SECONDS", 0))
        o.duplicate_window = std::chrono::seconds(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__PROCESSING_DEADLINE_MS", 1))
        o.processing_deadline = std::chrono::milliseconds(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__HANDLER_MAX_ATTEMPTS", 1))
        o.handler_retry.max_attempts = static_cast<unsigned>(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__HANDLER_INITIAL_DELAY_MS", 0))
        o.handler_retry.initial_delay = std::chrono::milliseconds(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__HANDLER_MAX_DELAY_MS", 0))
        o.handler_retry.max_delay = std::chrono::milliseconds(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__COALESCE_WINDOW_MS", 0))
        o.coalesce_window = std::chrono::milliseconds(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__DRAIN_TIMEOUT_MS", 0))
        o.drain_timeout = std::chrono::milliseconds(*v);
    if (auto v = number("OCEAN__LIVE_EVENTS__DISK_THREADS", 0))
        o.disk_threads = static_cast<unsigned>(*v);
    if (auto token = variable("OCEAN__LIVE_EVENTS__ADMIN_TOKEN"))
        o.admin_token = *token;
    return o;
}

} // namespace ocean::live_events
