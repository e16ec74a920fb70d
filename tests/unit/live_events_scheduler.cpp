#define BOOST_TEST_MODULE live_events_scheduler
#include <boost/test/unit_test.hpp>

#include <ocean/live_events/key_scheduler.hpp>

#include <vector>

using ocean::live_events::key_scheduler;

BOOST_AUTO_TEST_CASE(same_key_runs_one_at_a_time)
{
    key_scheduler s;
    BOOST_TEST(s.add(1, "repo/1"));
    BOOST_TEST(!s.add(2, "repo/1"));
    BOOST_TEST(!s.add(3, "repo/1"));

    auto first = s.take();
    BOOST_REQUIRE(first.has_value());
    BOOST_TEST(first->second == 1U);
    // The key is taken, so its next event waits.
    BOOST_TEST(!s.take().has_value());

    BOOST_TEST(s.release(first->first));
    auto second = s.take();
    BOOST_REQUIRE(second.has_value());
    BOOST_TEST(second->second == 2U);
    BOOST_TEST(s.release(second->first));
    auto third = s.take();
    BOOST_REQUIRE(third.has_value());
    BOOST_TEST(third->second == 3U);
    BOOST_TEST(!s.release(third->first));
    BOOST_TEST(s.empty());
}

BOOST_AUTO_TEST_CASE(different_keys_run_together)
{
    key_scheduler s;
    s.add(1, "a");
    s.add(2, "b");
    s.add(3, "");
    s.add(4, "");
    std::vector<std::uint64_t> taken;
    while (auto next = s.take())
        taken.push_back(next->second);
    std::vector<std::uint64_t> const expected{1, 2, 3, 4};
    BOOST_TEST(taken == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(late_add_keeps_sequence_order)
{
    key_scheduler s;
    s.add(5, "k");
    s.add(7, "k");
    s.add(6, "k");
    std::vector<std::uint64_t> order;
    while (auto next = s.take()) {
        order.push_back(next->second);
        s.release(next->first);
    }
    std::vector<std::uint64_t> const expected{5, 6, 7};
    BOOST_TEST(order == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(taken_head_is_not_displaced)
{
    key_scheduler s;
    s.add(10, "k");
    auto head = s.take();
    BOOST_REQUIRE(head.has_value());
    // An older event (a replayed dead letter) arrives while 10 is being processed: it runs next,
    // not before the event already in progress.
    BOOST_TEST(!s.add(3, "k"));
    BOOST_TEST(s.release(head->first));
    auto next = s.take();
    BOOST_REQUIRE(next.has_value());
    BOOST_TEST(next->second == 3U);
}

BOOST_AUTO_TEST_CASE(own_key_never_collides_with_ordering_key)
{
    key_scheduler s;
    s.add(1, "#2");
    s.add(2, "");
    BOOST_TEST(s.ready_count() == 2U);
}
