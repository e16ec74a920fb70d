#define BOOST_TEST_MODULE live_events_inbox
#include <boost/test/unit_test.hpp>

#include <ocean/live_events/inbox.hpp>

#include <filesystem>
#include <fstream>
#include <random>

using namespace ocean::live_events;
using std::chrono::system_clock;

namespace {

webhook_event sample_event(std::uint64_t sequence, std::string delivery_id, std::string body)
{
    webhook_event e;
    e.sequence = sequence;
    e.path = "/github";
    e.delivery_id = std::move(delivery_id);
    e.ordering_key = "repo/1";
    e.accepted_at = system_clock::time_point(std::chrono::milliseconds(1'764'000'000'123));
    e.headers.add("X-GitHub-Event", "issues");
    e.headers.add("X-Hub-Signature-256", "sha256=00");
    e.body = std::move(body);
    return e;
}

// A fresh directory under the system temporary directory, removed at the end of the test.
struct temporary_directory {
    temporary_directory()
        : path(std::filesystem::temp_directory_path() /
               ("ocean-inbox-test-" + std::to_string(std::random_device{}())))
    {
        std::filesystem::create_directories(path);
    }
    ~temporary_directory() { std::filesystem::remove_all(path); }
    std::filesystem::path path;
};

} // namespace

BOOST_AUTO_TEST_CASE(event_record_round_trip)
{
    auto const original = sample_event(42, "d-1", "{\"title\":\"Caf\xc3\xa9 \xf0\x9f\x9a\x80\"}");
    auto const decoded = decode_log(encode_event(original));
    BOOST_REQUIRE_EQUAL(decoded.records.size(), 1U);
    auto const& e = decoded.records[0].event;
    BOOST_TEST(e.sequence == 42U);
    BOOST_TEST(e.path == "/github");
    BOOST_TEST(e.delivery_id == "d-1");
    BOOST_TEST(e.ordering_key == "repo/1");
    BOOST_TEST(e.body == original.body);
    BOOST_TEST((e.accepted_at == original.accepted_at));
    BOOST_REQUIRE_EQUAL(e.headers.size(), 2U);
    BOOST_TEST(*e.headers.get("x-github-event") == "issues");
}

BOOST_AUTO_TEST_CASE(marker_records_round_trip)
{
    dead_letter_info info;
    info.failed_at = system_clock::time_point(std::chrono::milliseconds(1000));
    info.attempts = 3;
    info.reason = "upstream returned 500";
    auto const bytes = encode_marker(record_type::applied, 7) + encode_dead(8, info) +
                       encode_seen("d-9", system_clock::time_point(std::chrono::milliseconds(2000)));
    auto const decoded = decode_log(bytes);
    BOOST_REQUIRE_EQUAL(decoded.records.size(), 3U);
    BOOST_TEST(decoded.valid_bytes == bytes.size());
    BOOST_TEST((decoded.records[0].type == record_type::applied));
    BOOST_TEST(decoded.records[0].sequence == 7U);
    BOOST_TEST(decoded.records[1].dead.attempts == 3U);
    BOOST_TEST(decoded.records[1].dead.reason == "upstream returned 500");
    BOOST_TEST(decoded.records[2].delivery_id == "d-9");
}

BOOST_AUTO_TEST_CASE(torn_tail_is_dropped)
{
    auto const first = encode_event(sample_event(1, "a", "{}"));
    auto const second = encode_event(sample_event(2, "b", "{\"x\":1}"));
    auto const whole = first + second;
    // Every cut inside the second record keeps exactly the first one.
    for (std::size_t cut = first.size(); cut < whole.size(); ++cut) {
        auto const decoded = decode_log(std::string_view(whole).substr(0, cut));
        BOOST_TEST_CONTEXT("cut at " << cut)
        {
            BOOST_TEST(decoded.records.size() == 1U);
            BOOST_TEST(decoded.valid_bytes == first.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(corrupt_record_ends_log)
{
    auto const first = encode_event(sample_event(1, "a", "{}"));
    auto second = encode_event(sample_event(2, "b", "{\"x\":1}"));
    second[second.size() - 2] ^= 0x20;
    auto const third = encode_marker(record_type::applied, 1);
    auto const decoded = decode_log(first + second + third);
    BOOST_TEST(decoded.records.size() == 1U);
    BOOST_TEST(decoded.valid_bytes == first.size());
}

BOOST_AUTO_TEST_CASE(replay_applies_outcomes_in_order)
{
    std::string log;
    log += encode_event(sample_event(1, "applied-id", "{}"));
    log += encode_event(sample_event(2, "dead-id", "{}"));
    log += encode_event(sample_event(3, "", "{}"));
    log += encode_event(sample_event(4, "requeued-id", "{}"));
    log += encode_event(sample_event(5, "discarded-id", "{}"));
    dead_letter_info info;
    info.reason = "kept failing";
    log += encode_marker(record_type::applied, 1);
    log += encode_dead(2, info);
    log += encode_dead(4, info);
    log += encode_marker(record_type::requeued, 4);
    log += encode_dead(5, info);
    log += encode_marker(record_type::discarded, 5);

    auto const state = replay_records(decode_log(log).records);
    BOOST_REQUIRE_EQUAL(state.pending.size(), 2U);
    BOOST_TEST(state.pending[0].sequence == 3U);
    BOOST_TEST(state.pending[1].sequence == 4U);
    BOOST_REQUIRE_EQUAL(state.dead.size(), 1U);
    BOOST_TEST(state.dead[0].first.sequence == 2U);
    BOOST_TEST(state.dead[0].second.reason == "kept failing");
    BOOST_TEST(state.seen.contains("applied-id"));
    BOOST_TEST(state.seen.size() == 1U);
    BOOST_TEST(state.next_sequence == 6U);
}

BOOST_AUTO_TEST_CASE(open_recovers_and_compacts)
{
    temporary_directory dir;
    auto const path = dir.path / "inbox.log";
    {
        auto [file, state] = inbox_file::open(path, std::chrono::hours(1));
        BOOST_TEST(state.pending.empty());
        std::string records;
        for (std::uint64_t i = 1; i <= 100; ++i) {
            auto e = sample_event(i, "id-" + std::to_string(i), std::string(200, 'x'));
            e.accepted_at = system_clock::now();
            records += encode_event(e);
        }
        for (std::uint64_t i = 1; i <= 90; ++i)
            records += encode_marker(record_type::applied, i);
        file.write_and_sync(records, true);
    }
    auto const before = std::filesystem::file_size(path);
    {
        // A torn record at the end, as a crash in the middle of a write leaves it.
        std::ofstream out(path, std::ios::binary | std::ios::app);
        auto const torn = encode_event(sample_event(101, "torn", "{}"));
        out.write(torn.data(), static_cast<std::streamsize>(torn.size() / 2));
    }

    auto [file, state] = inbox_file::open(path, std::chrono::hours(1));
    BOOST_REQUIRE_EQUAL(state.pending.size(), 10U);
    BOOST_TEST(state.pending.front().sequence == 91U);
    BOOST_TEST(state.pending.back().sequence == 100U);
    BOOST_TEST(state.seen.size() == 90U);
    BOOST_TEST(state.next_sequence == 101U);
    BOOST_TEST(std::filesystem::file_size(path) < before);

    // The compacted file replays to the same state.
    file = inbox_file();
    auto [again, replayed] = inbox_file::open(path, std::chrono::hours(1));
    BOOST_TEST(replayed.pending.size() == 10U);
    BOOST_TEST(replayed.seen.size() == 90U);
}

BOOST_AUTO_TEST_CASE(open_forgets_ids_outside_window)
{
    temporary_directory dir;
    auto const path = dir.path / "inbox.log";
    {
        auto [file, state] = inbox_file::open(path, std::chrono::hours(1));
        file.write_and_sync(encode_seen("old", system_clock::now() - std::chrono::hours(2)) +
                                encode_seen("recent", system_clock::now()),
                            true);
    }
    auto [file, state] = inbox_file::open(path, std::chrono::hours(1));
    BOOST_TEST(state.seen.size() == 1U);
    BOOST_TEST(state.seen.contains("recent"));
}
