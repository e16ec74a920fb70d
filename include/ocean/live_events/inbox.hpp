// The durable inbox: an append-only log of accepted events and their outcomes.
//
// File format: a sequence of records, each
//   u32 payload length | u32 CRC-32 of (type byte + payload) | u8 type | payload
// with integers little-endian. Strings inside a payload are a u32 length and the bytes. A record
// whose length runs past the end of the file or whose checksum does not match ends the log: it is
// the torn tail of a write cut off by a crash, and open() truncates the file there.
#pragma once

#include <ocean/live_events/webhook_event.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::live_events {

/// Record types. Outcomes are separate records that name an event by its sequence number.
enum class record_type : std::uint8_t {
    event = 1,
    applied = 2,
    dead = 3,
    requeued = 4,
    discarded = 5,
    /// A delivery id applied earlier, kept by compaction so duplicates stay recognised.
    seen = 6,
};

/// The cause of an event's failure, as stored with a dead letter.
struct dead_letter_info {
    std::chrono::system_clock::time_point failed_at;
    unsigned attempts = 0;
    std::string reason;
};

/// One decoded record. Only the members of its type are set.
struct inbox_record {
    record_type type = record_type::event;
    webhook_event event;
    std::uint64_t sequence = 0;
    dead_letter_info dead;
    std::string delivery_id;
    std::chrono::system_clock::time_point seen_at;
};

/// Encodes records (sans-I/O).
std::string encode_event(webhook_event const& event);
std::string encode_marker(record_type type, std::uint64_t sequence);
std::string encode_dead(std::uint64_t sequence, dead_letter_info const& info);
std::string encode_seen(std::string_view delivery_id, std::chrono::system_clock::time_point at);

/// The result of decoding a log image.
struct decoded_log {
    std::vector<inbox_record> records;
    /// Bytes that form whole, valid records; the rest is a torn or corrupt tail.
    std::size_t valid_bytes = 0;
};

/// Decodes `bytes` up to the first incomplete or corrupt record (sans-I/O). The event payload is
/// not parsed: webhook_event::payload stays null.
decoded_log decode_log(std::string_view bytes);

/// The state that replaying a log yields.
struct recovered_state {
    /// Events neither applied nor dead, in sequence order.
    std::vector<webhook_event> pending;
    /// Dead-lettered events with their failure, in sequence order.
    std::vector<std::pair<webhook_event, dead_letter_info>> dead;
    /// Delivery ids of applied events with the time they were accepted.
    std::map<std::string, std::chrono::system_clock::time_point> seen;
    std::uint64_t next_sequence = 1;
};

/// Replays decoded records into the state they describe (sans-I/O).
recovered_state replay_records(std::vector<inbox_record> const& records);

/// The on-disk log. Not thread-safe: the processor manager calls it from one strand, except that
/// write_and_sync() may run on a disk thread while no other member function runs.
class inbox_file {
public:
    /// Opens or creates the log at `path`, replays it, drops a torn tail, and rewrites the file
    /// with only the live records (pending and dead events, and the delivery ids seen within
    /// `seen_window`). Throws std::system_error naming the path when the file cannot be used.
    static std::pair<inbox_file, recovered_state> open(std::filesystem::path path,
                                                       std::chrono::system_clock::duration seen_window);

    inbox_file() = default;
    inbox_file(inbox_file&& other) noexcept;
    inbox_file& operator=(inbox_file&& other) noexcept;
    ~inbox_file();

    /// Appends `bytes` (whole encoded records) at the end and, when `sync` is true, waits for
    /// fdatasync. Throws std::system_error. Blocking.
    void write_and_sync(std::string_view bytes, bool sync);

    /// Replaces the file with `live_records` through a temporary file and a rename, then appends
    /// there. Throws std::system_error; the old file stays in place when any step fails.
    void rewrite(std::string_view live_records);

    /// Bytes written since the last rewrite.
    std::uint64_t size() const noexcept { return size_; }

    std::filesystem::path const& path() const noexcept { return path_; }

private:
    inbox_file(std::filesystem::path path, int fd, std::uint64_t size);

    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

} // namespace ocean::live_events
