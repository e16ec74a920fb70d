// Sans-I/O tests of the HTTP client's rate pacer. Every time point is explicit, so nothing here
// sleeps; the last cases run many requests against a simulated fixed-window server.
#define BOOST_TEST_MODULE http_rate_pacer
#include <boost/test/unit_test.hpp>

#include "../../src/http/rate_pacer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using ocean::http::detail::rate_pacer;
using ocean::http::detail::rate_pacer_settings;
using time_point = rate_pacer::clock::time_point;

namespace {

time_point const t0{std::chrono::hours{1}};

} // namespace

BOOST_AUTO_TEST_CASE(pacer_unknown_host_sends_at_once)
{
    rate_pacer pacer;
    BOOST_TEST(pacer.reserve("http://a:80", t0).count() == 0);
    BOOST_TEST(!pacer.available("http://a:80").has_value());
    BOOST_TEST(pacer.in_flight("http://a:80") == 1u);
}

BOOST_AUTO_TEST_CASE(pacer_plenty_remaining_sends_at_once)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 50, 10'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(pacer.available("h").value() == 48u);
}

BOOST_AUTO_TEST_CASE(pacer_low_remaining_spreads_requests)
{
    rate_pacer pacer;
    // 5 of 100 left, reset in 10 s: one request every 2 s.
    pacer.observe("h", 100, 5, 10'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 2'000);
    // A second request made at the same moment queues behind the first slot.
    BOOST_TEST(pacer.reserve("h", t0).count() == 4'500);
    BOOST_TEST(pacer.available("h").value() == 3u);
}

BOOST_AUTO_TEST_CASE(pacer_other_hosts_unaffected)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 1, 10'000ms, t0);
    BOOST_TEST(pacer.reserve("other", t0).count() == 0);
    BOOST_TEST(pacer.reserve("h", t0).count() > 0);
}

BOOST_AUTO_TEST_CASE(pacer_exhausted_waits_for_reset)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 0, 7'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 7'000);
    BOOST_TEST(pacer.reserve("h", t0 + 3s).count() == 4'000);
}

BOOST_AUTO_TEST_CASE(pacer_wait_capped_at_max_wait)
{
    rate_pacer pacer(rate_pacer_settings{0.1, 5'000ms});
    pacer.observe("h", 100, 0, 3'600'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 5'000);
}

BOOST_AUTO_TEST_CASE(pacer_disabled_by_zero_threshold)
{
    rate_pacer pacer(rate_pacer_settings{0.0, 30'000ms});
    pacer.observe("h", 100, 0, 10'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(!pacer.available("h").has_value());
}

BOOST_AUTO_TEST_CASE(pacer_ignores_incomplete_headers)
{
    rate_pacer pacer;
    pacer.observe("h", std::nullopt, 0, 10'000ms, t0);
    pacer.observe("h", 100, std::nullopt, 10'000ms, t0);
    pacer.observe("h", 100, 0, std::nullopt, t0);
    pacer.observe("h", 0, 0, 10'000ms, t0);
    pacer.observe("h", 100, 0, 0ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(!pacer.available("h").has_value());
}

BOOST_AUTO_TEST_CASE(pacer_counts_requests_in_flight)
{
    rate_pacer pacer;
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(pacer.in_flight("h") == 5u);

    // The first response reports 99 left; the four requests still in flight may not be counted yet.
    pacer.observe("h", 100, 99, 10'000ms, t0 + 50ms);
    BOOST_TEST(pacer.in_flight("h") == 4u);
    BOOST_TEST(pacer.available("h").value() == 95u);
}

BOOST_AUTO_TEST_CASE(pacer_release_settles_reservation)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 50, 10'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(pacer.in_flight("h") == 1u);
    pacer.release("h");
    BOOST_TEST(pacer.in_flight("h") == 0u);
    // A release without a reservation changes nothing.
    pacer.release("h");
    pacer.release("unknown");
    BOOST_TEST(pacer.in_flight("h") == 0u);
}

BOOST_AUTO_TEST_CASE(pacer_keeps_lower_count_out_of_order)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 90, 10'000ms, t0);
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(pacer.reserve("h", t0).count() == 0);
    BOOST_TEST(pacer.available("h").value() == 87u);

    // The server admitted the three requests with 89, 88 and 87 left, and responds to the last first.
    pacer.observe("h", 100, 87, 9'900ms, t0 + 100ms);
    BOOST_TEST(pacer.available("h").value() == 85u);
    pacer.observe("h", 100, 89, 9'800ms, t0 + 200ms);
    BOOST_TEST(pacer.available("h").value() == 85u);
    pacer.observe("h", 100, 88, 9'700ms, t0 + 300ms);
    BOOST_TEST(pacer.available("h").value() == 85u);
    BOOST_TEST(pacer.in_flight("h") == 0u);
}

BOOST_AUTO_TEST_CASE(pacer_new_window_replaces_count)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 5, 10'000ms, t0);
    // A late response from an earlier request reports a higher count for the same window.
    pacer.observe("h", 100, 8, 9'800ms, t0 + 200ms);
    BOOST_TEST(pacer.available("h").value() == 5u);
    // A response that reports a later window replaces the count.
    pacer.observe("h", 100, 90, 60'000ms, t0 + 11s);
    BOOST_TEST(pacer.available("h").value() == 90u);
}

BOOST_AUTO_TEST_CASE(pacer_opens_next_window_at_reset)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 0, 1'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0 + 1'000ms).count() == 0);
    BOOST_TEST(pacer.available("h").value() == 99u);
}

BOOST_AUTO_TEST_CASE(pacer_new_window_counts_old_in_flight)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 30, 10'000ms, t0);
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(pacer.reserve("h", t0 + 9'900ms).count() == 0);

    // At the reset the 20 unanswered requests may land in the new window, so they count there.
    BOOST_TEST(pacer.reserve("h", t0 + 10s).count() == 0);
    BOOST_TEST(pacer.in_flight("h") == 21u);
    BOOST_TEST(pacer.available("h").value() == 79u);
}

BOOST_AUTO_TEST_CASE(pacer_late_report_after_reset_ignored)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 30, 10'000ms, t0);
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(pacer.reserve("h", t0 + 9'900ms).count() == 0);
    BOOST_TEST(pacer.reserve("h", t0 + 10s).count() == 0);
    BOOST_TEST(pacer.available("h").value() == 79u);

    // Responses from the old window arrive after its reset. The window they report is over, so they
    // neither revive its count nor free the budget of the new one.
    pacer.observe("h", 100, 0, 0ms, t0 + 10'100ms);
    pacer.observe("h", 100, 10, 400ms, t0 + 10'200ms);
    BOOST_TEST(pacer.available("h").value() == 79u);
    BOOST_TEST(pacer.in_flight("h") == 19u);
    BOOST_TEST(pacer.reserve("h", t0 + 10'300ms).count() == 0);
    BOOST_TEST(pacer.available("h").value() == 78u);
}

BOOST_AUTO_TEST_CASE(pacer_first_report_confirms_window)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 30, 10'000ms, t0);
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(pacer.reserve("h", t0 + 9'900ms).count() == 0);
    BOOST_TEST(pacer.reserve("h", t0 + 10s).count() == 0);

    // The first response from the new window: 99 left when the server admitted it, and the other
    // 20 requests in flight may come after it.
    pacer.observe("h", 100, 99, 10'000ms, t0 + 10'050ms);
    BOOST_TEST(pacer.in_flight("h") == 20u);
    BOOST_TEST(pacer.available("h").value() == 79u);
}

BOOST_AUTO_TEST_CASE(pacer_forgets_unconfirmed_window)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 50, 10'000ms, t0);
    BOOST_TEST(pacer.reserve("h", t0 + 10s).count() == 0);
    BOOST_TEST(pacer.available("h").has_value());
    pacer.release("h");

    // No response reported the window the pacer opened, so it ends without a successor.
    BOOST_TEST(pacer.reserve("h", t0 + 20s).count() == 0);
    BOOST_TEST(!pacer.available("h").has_value());
}

BOOST_AUTO_TEST_CASE(pacer_forgets_window_after_silence)
{
    rate_pacer pacer;
    pacer.observe("h", 100, 0, 10'000ms, t0);
    // A whole window passed without a response, so the known limit may be out of date.
    BOOST_TEST(pacer.reserve("h", t0 + 25s).count() == 0);
    BOOST_TEST(!pacer.available("h").has_value());
}

// ---------------------------------------------------------------------------------------------
// Simulation: concurrent workers against a fixed-window limiter

namespace {

// A limiter like ocean-port-emulator's: the first request after a window ends opens the next
// one, and the reset is reported rounded up to whole seconds.
struct fixed_window_server {
    std::uint64_t limit = 100;
    milliseconds period{10'000};
    std::optional<time_point> start;
    std::uint64_t count = 0;

    struct decision {
        bool allowed = false;
        std::uint64_t remaining = 0;
        time_point reset_at;
    };

    decision admit(time_point now)
    {
        if (!start || now >= *start + period) {
            start = now;
            count = 0;
        }
        ++count;
        auto const end = *start + period;
        return {count <= limit, count >= limit ? 0 : limit - count,
                time_point(std::chrono::ceil<std::chrono::seconds>(end.time_since_epoch()))};
    }
};

struct simulation_outcome {
    std::size_t completed = 0;
    std::size_t rejected = 0;
    time_point finished;
};

// Pseudo-random delays in milliseconds, each drawn from [1, maximum].
struct latency_profile {
    char const* name;
    unsigned max_send_ms;
    unsigned max_response_ms;
};

// Loopback: responses come back within milliseconds, so many requests fit between the server's
// window end and the reset it reported, which is rounded up to a whole second.
constexpr latency_profile loopback{"loopback", 2, 5};
// Slow responses overtake each other, and reports of a window arrive long after the server moved on.
constexpr latency_profile out_of_order{"out of order", 20, 300};

// Runs `requests` requests on `workers` workers that each send one request at a time, starting at
// t0 + `offset`. Delays are pseudo-random but fixed by `seed`.
simulation_outcome simulate(std::size_t requests, std::size_t workers, latency_profile latency, milliseconds offset,
                            unsigned seed)
{
    enum class step { start, arrive, respond };
    struct event {
        time_point at;
        std::uint64_t sequence = 0;
        step kind = step::start;
        fixed_window_server::decision decision;

        bool operator>(event const& other) const
        {
            return at != other.at ? at > other.at : sequence > other.sequence;
        }
    };

    rate_pacer pacer;
    fixed_window_server server;
    std::minstd_rand random(seed);
    std::priority_queue<event, std::vector<event>, std::greater<>> events;
    std::uint64_t sequence = 0;
    // Requests not yet taken by a worker; each worker starts with one.
    std::size_t unclaimed = requests - workers;
    simulation_outcome outcome;

    auto push = [&](time_point at, step kind, fixed_window_server::decision decision = {}) {
        events.push(event{at, sequence++, kind, decision});
    };
    for (std::size_t i = 0; i < workers; ++i)
        push(t0 + offset, step::start);

    while (!events.empty()) {
        auto const current = events.top();
        events.pop();
        switch (current.kind) {
        case step::start: {
            auto const wait = pacer.reserve("h", current.at);
            push(current.at + wait + milliseconds(1 + random() % latency.max_send_ms), step::arrive);
            break;
        }
        case step::arrive:
            push(current.at + milliseconds(1 + random() % latency.max_response_ms), step::respond, server.admit(current.at));
            break;
        case step::respond: {
            auto const reset_in = std::chrono::ceil<milliseconds>(current.decision.reset_at - current.at);
            pacer.observe("h", server.limit, current.decision.remaining, reset_in, current.at);
            outcome.finished = current.at;
            if (!current.decision.allowed) {
                // The worker sends the same request again; the pacer decides when.
                ++outcome.rejected;
                push(current.at, step::start);
                break;
            }
            ++outcome.completed;
            if (unclaimed > 0) {
                --unclaimed;
                push(current.at, step::start);
            }
            break;
        }
        }
    }
    return outcome;
}

} // namespace

BOOST_AUTO_TEST_CASE(pacer_simulation_has_no_rejections)
{
    constexpr std::size_t requests = 1'000;
    constexpr std::size_t workers = 20;
    for (auto const& latency : {loopback, out_of_order}) {
        for (unsigned seed = 1; seed <= 10; ++seed) {
            auto const offset = milliseconds(seed * 97 % 1'000);
            BOOST_TEST_CONTEXT(latency.name << ", seed " << seed << ", start offset " << offset.count() << " ms")
            {
                auto const outcome = simulate(requests, workers, latency, offset, seed);
                BOOST_TEST(outcome.completed == requests);
                BOOST_TEST(outcome.rejected == 0u);
                // Each window of 100 loses at most the 20 requests in flight at its start, so the
                // run needs no more than 1000 / 80 windows, rounded up, plus one second of rounding
                // per window.
                auto const elapsed = std::chrono::duration_cast<milliseconds>(outcome.finished - t0 - offset);
                BOOST_TEST(elapsed.count() <= 13 * 11'000);
            }
        }
    }
}
