#include "live_events/live_metrics.hpp"

#include <fmt/format.h>

namespace ocean::live_events {

void live_metrics::rejected(std::string const& reason)
{
    std::lock_guard lock(mutex_);
    ++rejected_[reason];
}

void live_metrics::applied(std::chrono::nanoseconds accept_to_applied)
{
    double const seconds = std::chrono::duration<double>(accept_to_applied).count();
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (seconds <= bounds[i])
            ++buckets_[i];
    ++applied_count_;
    applied_seconds_ += seconds;
}

std::string live_metrics::render() const
{
    std::string out;
    auto gauge = [&out](char const* name, char const* help, std::uint64_t value) {
        out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, value);
    };
    auto counter = [&out](char const* name, char const* help, std::uint64_t value) {
        out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, value);
    };
    gauge("ocean_live_events_inbox_depth", "Events accepted and not yet applied or dead-lettered.", inbox_depth);
    gauge("ocean_live_events_dead_letters", "Events in the dead-letter list.", dead_letters);
    counter("ocean_live_events_accepted_total", "Deliveries stored in the inbox and acknowledged.", accepted);
    counter("ocean_live_events_duplicates_total", "Deliveries acknowledged as duplicates of a known delivery id.",
            duplicates);
    counter("ocean_live_events_retries_total", "Retries of handle_event.", retries);
    counter("ocean_live_events_dead_lettered_total", "Events moved to the dead-letter list.", dead_lettered);
    counter("ocean_live_events_port_write_batches_total", "Coalesced write windows sent to Port.", port_write_batches);
    counter("ocean_live_events_port_write_failures_total", "Write windows that Port failed as a whole (resent).",
            port_write_failures);
    counter("ocean_live_events_group_commits_total", "Inbox writes; each covers every event that arrived meanwhile.",
            group_commits);

    std::lock_guard lock(mutex_);
    out += "# HELP ocean_live_events_rejected_total Deliveries answered with an error, by reason.\n"
           "# TYPE ocean_live_events_rejected_total counter\n";
    for (auto const& [reason, count] : rejected_)
        out += fmt::format("ocean_live_events_rejected_total{{reason=\"{}\"}} {}\n", reason, count);
    out += "# HELP ocean_live_events_accept_to_applied_seconds Time from acknowledging a delivery to its Port "
           "write.\n# TYPE ocean_live_events_accept_to_applied_seconds histogram\n";
    for (std::size_t i = 0; i < bounds.size(); ++i)
        out += fmt::format("ocean_live_events_accept_to_applied_seconds_bucket{{le=\"{}\"}} {}\n", bounds[i],
                           buckets_[i]);
    out += fmt::format("ocean_live_events_accept_to_applied_seconds_bucket{{le=\"+Inf\"}} {}\n", applied_count_);
    out += fmt::format("ocean_live_events_accept_to_applied_seconds_sum {}\n", applied_seconds_);
    out += fmt::format("ocean_live_events_accept_to_applied_seconds_count {}\n", applied_count_);
    return out;
}

} // namespace ocean::live_events
