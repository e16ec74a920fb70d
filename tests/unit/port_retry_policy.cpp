// Sans-I/O tests of the retry policy and the Retry-After and x-ratelimit-reset parsers. Every
// time point is explicit, so nothing here sleeps.
#define BOOST_TEST_MODULE port_retry_policy
#include <boost/test/unit_test.hpp>

#include <ocean/retry.hpp>

#include <chrono>

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using ocean::retry_policy;

namespace {

// 2024-03-01 12:00:00 UTC, a fixed "now" for the date parsers.
std::chrono::system_clock::time_point const fixed_now =
    std::chrono::sys_days{std::chrono::year{2024} / 3 / 1} + 12h;

retry_policy small_policy()
{
    retry_policy policy;
    policy.max_attempts = 5;
    policy.initial_delay = 100ms;
    policy.multiplier = 2.0;
    policy.max_delay = 1'000ms;
    policy.jitter = 0.1;
    policy.total_budget = 0ms;
    return policy;
}

} // namespace

BOOST_AUTO_TEST_CASE(backoff_doubles_from_initial_delay)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.base_delay(2).count() == 100);
    BOOST_TEST(policy.base_delay(3).count() == 200);
    BOOST_TEST(policy.base_delay(4).count() == 400);
    BOOST_TEST(policy.base_delay(5).count() == 800);
}

BOOST_AUTO_TEST_CASE(backoff_default_matches_ocean)
{
    retry_policy const policy;
    BOOST_TEST(policy.base_delay(2).count() == 300);
    BOOST_TEST(policy.base_delay(3).count() == 600);
    BOOST_TEST(policy.base_delay(4).count() == 1'200);
}

BOOST_AUTO_TEST_CASE(backoff_capped_at_max_delay)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.base_delay(6).count() == 1'000);
    BOOST_TEST(policy.base_delay(50).count() == 1'000);
    // 2^5000 overflows a double to infinity, which must still be capped.
    BOOST_TEST(policy.base_delay(5'000).count() == 1'000);
}

BOOST_AUTO_TEST_CASE(backoff_first_attempt_has_no_delay)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.base_delay(0).count() == 0);
    BOOST_TEST(policy.base_delay(1).count() == 0);
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_bounds)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.delay(3, 0.0).count() == 180);
    BOOST_TEST(policy.delay(3, 0.5).count() == 200);
    BOOST_TEST(policy.delay(3, 0.999999).count() >= 219);
    BOOST_TEST(policy.delay(3, 0.999999).count() <= 220);
    for (double r = 0.0; r < 1.0; r += 0.01) {
        auto const d = policy.delay(4, r).count();
        BOOST_TEST(d >= 360);
        BOOST_TEST(d <= 440);
    }
}

BOOST_AUTO_TEST_CASE(jitter_never_exceeds_max_delay)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.delay(10, 0.999).count() == 1'000);
    BOOST_TEST(policy.delay(10, 0.0).count() == 900);
}

BOOST_AUTO_TEST_CASE(jitter_zero_gives_base_delay)
{
    auto policy = small_policy();
    policy.jitter = 0.0;
    BOOST_TEST(policy.delay(4, 0.0).count() == 400);
    BOOST_TEST(policy.delay(4, 0.99).count() == 400);
}

BOOST_AUTO_TEST_CASE(next_delay_stops_after_max_attempts)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.next_delay(2, 0ms, std::nullopt, 0.5).has_value());
    BOOST_TEST(policy.next_delay(5, 0ms, std::nullopt, 0.5).has_value());
    BOOST_TEST(!policy.next_delay(6, 0ms, std::nullopt, 0.5).has_value());
    BOOST_TEST(!retry_policy::none().next_delay(2, 0ms, std::nullopt, 0.5).has_value());
}

BOOST_AUTO_TEST_CASE(next_delay_uses_jittered_backoff)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.next_delay(3, 0ms, std::nullopt, 0.5)->count() == 200);
    BOOST_TEST(policy.next_delay(3, 0ms, std::nullopt, 0.0)->count() == 180);
}

BOOST_AUTO_TEST_CASE(next_delay_respects_total_budget)
{
    auto policy = small_policy();
    policy.total_budget = 5'000ms;
    BOOST_TEST(policy.next_delay(2, 1'000ms, std::nullopt, 0.5)->count() == 100);
    BOOST_TEST(!policy.next_delay(2, 5'000ms, std::nullopt, 0.5).has_value());
    BOOST_TEST(!policy.next_delay(2, 6'000ms, std::nullopt, 0.5).has_value());
    // A retry that would start after the budget ends is refused up front.
    BOOST_TEST(!policy.next_delay(2, 4'950ms, std::nullopt, 0.5).has_value());
}

BOOST_AUTO_TEST_CASE(next_delay_prefers_server_hint)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.next_delay(2, 0ms, 700ms, 0.5)->count() == 700);
    BOOST_TEST(policy.next_delay(2, 0ms, 0ms, 0.5)->count() == 0);
}

BOOST_AUTO_TEST_CASE(next_delay_caps_server_hint)
{
    auto const policy = small_policy();
    BOOST_TEST(policy.next_delay(2, 0ms, 3'600'000ms, 0.5)->count() == 1'000);
}

BOOST_AUTO_TEST_CASE(next_delay_hint_does_not_bypass_attempt_limit)
{
    auto const policy = small_policy();
    BOOST_TEST(!policy.next_delay(6, 0ms, 10ms, 0.5).has_value());
}

BOOST_AUTO_TEST_CASE(retry_after_seconds)
{
    BOOST_TEST(ocean::parse_retry_after("1", fixed_now)->count() == 1'000);
    BOOST_TEST(ocean::parse_retry_after("120", fixed_now)->count() == 120'000);
    BOOST_TEST(ocean::parse_retry_after("0", fixed_now)->count() == 0);
    BOOST_TEST(ocean::parse_retry_after("  5 ", fixed_now)->count() == 5'000);
}

BOOST_AUTO_TEST_CASE(retry_after_huge_seconds_saturate)
{
    auto const parsed = ocean::parse_retry_after("99999999999999999999999", fixed_now);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->count() > 1'000'000'000);
}

BOOST_AUTO_TEST_CASE(retry_after_imf_fixdate)
{
    BOOST_TEST(ocean::parse_retry_after("Fri, 01 Mar 2024 12:00:30 GMT", fixed_now)->count() == 30'000);
    BOOST_TEST(ocean::parse_retry_after("Sat, 02 Mar 2024 12:00:00 GMT", fixed_now)->count() == 86'400'000);
}

BOOST_AUTO_TEST_CASE(retry_after_rfc850_date)
{
    BOOST_TEST(ocean::parse_retry_after("Friday, 01-Mar-24 12:01:00 GMT", fixed_now)->count() == 60'000);
}

BOOST_AUTO_TEST_CASE(retry_after_asctime_date)
{
    BOOST_TEST(ocean::parse_retry_after("Fri Mar  1 12:00:02 2024", fixed_now)->count() == 2'000);
    BOOST_TEST(ocean::parse_retry_after("Sun Mar 10 12:00:00 2024", fixed_now)->count() == 9 * 86'400'000LL);
}

BOOST_AUTO_TEST_CASE(retry_after_past_date_is_zero)
{
    BOOST_TEST(ocean::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", fixed_now)->count() == 0);
    BOOST_TEST(ocean::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", fixed_now)->count() == 0);
}

BOOST_AUTO_TEST_CASE(retry_after_garbage_is_absent)
{
    for (auto const* value :
         {"", "   ", "soon", "-1", "-5", "+5", "1.5", "5s", "0x10", "1e3", "Fri, 01 Mar 2024 12:00:30",
          "Fri, 01 Mar 2024 12:00:30 UTC", "Fri, 31 Feb 2024 12:00:00 GMT", "Fri, 01 Foo 2024 12:00:00 GMT",
          "Fri, 01 Mar 2024 25:00:00 GMT", "Fri, 1 Mar 2024 12:00:00 GMT", "Fri, 01 Mar 2024 12:00:30 GMT extra"}) {
        BOOST_TEST_INFO("Retry-After: '" << value << "'");
        BOOST_TEST(!ocean::parse_retry_after(value, fixed_now).has_value());
    }
}

BOOST_AUTO_TEST_CASE(ratelimit_reset_seconds)
{
    BOOST_TEST(ocean::parse_ratelimit_reset("30", fixed_now)->count() == 30'000);
    BOOST_TEST(ocean::parse_ratelimit_reset("0", fixed_now)->count() == 0);
    BOOST_TEST(ocean::parse_ratelimit_reset("1.5", fixed_now)->count() == 1'500);
    BOOST_TEST(ocean::parse_ratelimit_reset("10000", fixed_now)->count() == 10'000'000);
}

BOOST_AUTO_TEST_CASE(ratelimit_reset_epoch_seconds)
{
    auto const epoch = std::chrono::duration_cast<std::chrono::seconds>(fixed_now.time_since_epoch()).count();
    BOOST_TEST(ocean::parse_ratelimit_reset(std::to_string(epoch + 42), fixed_now)->count() == 42'000);
    BOOST_TEST(ocean::parse_ratelimit_reset(std::to_string(epoch - 100), fixed_now)->count() == 0);
    BOOST_TEST(ocean::parse_ratelimit_reset("10001", fixed_now)->count() == 0);
}

BOOST_AUTO_TEST_CASE(ratelimit_reset_garbage_is_absent)
{
    for (auto const* value : {"", "soon", "-3", "1e5", "inf", "nan", "1.2.3", ".", "12abc"}) {
        BOOST_TEST_INFO("x-ratelimit-reset: '" << value << "'");
        BOOST_TEST(!ocean::parse_ratelimit_reset(value, fixed_now).has_value());
    }
}
