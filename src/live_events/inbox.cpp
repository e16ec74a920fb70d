#include <ocean/live_events/inbox.hpp>

#include <zlib.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <system_error>
#include <unistd.h>

namespace ocean::live_events {
namespace {

using std::chrono::system_clock;

constexpr std::size_t header_size = 4 + 4 + 1;
// A record this large is certainly a corrupt length field: the server's body limit is far below.
constexpr std::uint32_t max_record_size = 512u * 1024u * 1024u;

void put_u32(std::string& out, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

void put_u64(std::string& out, std::uint64_t v)
{
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

void put_string(std::string& out, std::string_view s)
{
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

void put_time(std::string& out, system_clock::time_point t)
{
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    put_u64(out, static_cast<std::uint64_t>(ms));
}

// CRC-32, the polynomial of zip and PNG, so the values match the byte-wise table used before.
// zlib's implementation works a machine word at a time, and every accepted event passes here.
std::uint32_t checksum(std::string_view typed_payload)
{
    auto crc = crc32_z(0, nullptr, 0);
    crc = crc32_z(crc, reinterpret_cast<unsigned char const*>(typed_payload.data()), typed_payload.size());
    return static_cast<std::uint32_t>(crc);
}

// Frames `payload` as one record of `type`.
std::string frame(record_type type, std::string const& payload)
{
    std::string typed;
    typed.reserve(payload.size() + 1);
    typed.push_back(static_cast<char>(type));
    typed.append(payload);
    std::string out;
    out.reserve(header_size + payload.size());
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, checksum(typed));
    out.append(typed);
    return out;
}

// Reads fields from one record's payload; every read checks the bounds and throws on overrun.
class reader {
public:
    explicit reader(std::string_view data) : data_(data) {}

    std::uint32_t u32()
    {
        need(4);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
        pos_ += 4;
        return v;
    }

    std::uint64_t u64()
    {
        need(8);
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
        pos_ += 8;
        return v;
    }

    std::string string()
    {
        auto const n = u32();
        need(n);
        std::string s(data_.substr(pos_, n));
        pos_ += n;
        return s;
    }

    system_clock::time_point time()
    {
        return system_clock::time_point(std::chrono::milliseconds(static_cast<std::int64_t>(u64())));
    }

private:
    void need(std::size_t n) const
    {
        if (data_.size() - pos_ < n)
            throw std::out_of_range("record payload shorter than its fields");
    }

    std::string_view data_;
    std::size_t pos_ = 0;
};

inbox_record decode_payload(record_type type, std::string_view payload)
{
    reader in(payload);
    inbox_record r;
    r.type = type;
    switch (type) {
    case record_type::event: {
        r.event.sequence = in.u64();
        r.event.accepted_at = in.time();
        r.event.path = in.string();
        r.event.delivery_id = in.string();
        r.event.ordering_key = in.string();
        auto const headers = in.u32();
        for (std::uint32_t i = 0; i < headers; ++i) {
            auto name = in.string();
            auto value = in.string();
            r.event.headers.add(name, value);
        }
        r.event.body = in.string();
        r.sequence = r.event.sequence;
        break;
    }
    case record_type::applied:
    case record_type::requeued:
    case record_type::discarded:
        r.sequence = in.u64();
        break;
    case record_type::dead:
        r.sequence = in.u64();
        r.dead.failed_at = in.time();
        r.dead.attempts = in.u32();
        r.dead.reason = in.string();
        break;
    case record_type::seen:
        r.delivery_id = in.string();
        r.seen_at = in.time();
        break;
    default:
        throw std::out_of_range("unknown record type");
    }
    return r;
}

std::system_error file_error(std::string const& what, std::filesystem::path const& path)
{
    return std::system_error(errno, std::generic_category(), what + " '" + path.string() + "'");
}

void write_all(int fd, std::string_view bytes, std::filesystem::path const& path)
{
    while (!bytes.empty()) {
        auto const n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw file_error("cannot write the inbox", path);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void sync_directory(std::filesystem::path const& dir)
{
    int const fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw file_error("cannot open the inbox directory", dir);
    int const rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0)
        throw file_error("cannot sync the inbox directory", dir);
}

std::string read_whole(std::filesystem::path const& path)
{
    int const fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return {};
        throw file_error("cannot open the inbox", path);
    }
    std::string data;
    char buffer[65536];
    for (;;) {
        auto const n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ::close(fd);
            throw file_error("cannot read the inbox", path);
        }
        if (n == 0)
            break;
        data.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
}

} // namespace

std::string encode_event(webhook_event const& e)
{
    std::string p;
    p.reserve(e.body.size() + 256);
    put_u64(p, e.sequence);
    put_time(p, e.accepted_at);
    put_string(p, e.path);
    put_string(p, e.delivery_id);
    put_string(p, e.ordering_key);
    put_u32(p, static_cast<std::uint32_t>(e.headers.size()));
    for (auto const& [name, value] : e.headers) {
        put_string(p, name);
        put_string(p, value);
    }
    put_string(p, e.body);
    return frame(record_type::event, p);
}

std::string encode_marker(record_type type, std::uint64_t sequence)
{
    std::string p;
    put_u64(p, sequence);
    return frame(type, p);
}

std::string encode_dead(std::uint64_t sequence, dead_letter_info const& info)
{
    std::string p;
    put_u64(p, sequence);
    put_time(p, info.failed_at);
    put_u32(p, info.attempts);
    put_string(p, info.reason);
    return frame(record_type::dead, p);
}

std::string encode_seen(std::string_view delivery_id, system_clock::time_point at)
{
    std::string p;
    put_string(p, delivery_id);
    put_time(p, at);
    return frame(record_type::seen, p);
}

decoded_log decode_log(std::string_view bytes)
{
    decoded_log out;
    std::size_t pos = 0;
    while (bytes.size() - pos >= header_size) {
        reader head(bytes.substr(pos, 8));
        auto const length = head.u32();
        auto const expected = head.u32();
        if (length > max_record_size || bytes.size() - pos - 8 < std::size_t{length} + 1)
            break;
        auto const typed = bytes.substr(pos + 8, std::size_t{length} + 1);
        if (checksum(typed) != expected)
            break;
        try {
            out.records.push_back(decode_payload(static_cast<record_type>(typed[0]), typed.substr(1)));
        } catch (std::out_of_range const&) {
            break;
        }
        pos += 8 + std::size_t{length} + 1;
    }
    out.valid_bytes = pos;
    return out;
}

recovered_state replay_records(std::vector<inbox_record> const& records)
{
    recovered_state state;
    std::map<std::uint64_t, webhook_event> pending;
    std::map<std::uint64_t, std::pair<webhook_event, dead_letter_info>> dead;
    for (auto const& r : records) {
        switch (r.type) {
        case record_type::event:
            pending[r.sequence] = r.event;
            state.next_sequence = std::max(state.next_sequence, r.sequence + 1);
            break;
        case record_type::applied:
            if (auto it = pending.find(r.sequence); it != pending.end()) {
                if (!it->second.delivery_id.empty())
                    state.seen[it->second.delivery_id] = it->second.accepted_at;
                pending.erase(it);
            }
            break;
        case record_type::dead:
            if (auto it = pending.find(r.sequence); it != pending.end()) {
                dead[r.sequence] = {std::move(it->second), r.dead};
                pending.erase(it);
            }
            break;
        case record_type::requeued:
            if (auto it = dead.find(r.sequence); it != dead.end()) {
                pending[r.sequence] = std::move(it->second.first);
                dead.erase(it);
            }
            break;
        case record_type::discarded:
            pending.erase(r.sequence);
            dead.erase(r.sequence);
            break;
        case record_type::seen:
            state.seen[r.delivery_id] = r.seen_at;
            break;
        }
    }
    for (auto& [sequence, event] : pending)
        state.pending.push_back(std::move(event));
    for (auto& [sequence, entry] : dead)
        state.dead.push_back(std::move(entry));
    return state;
}

inbox_file::inbox_file(std::filesystem::path path, int fd, std::uint64_t size)
    : path_(std::move(path)), fd_(fd), size_(size)
{
}

inbox_file::inbox_file(inbox_file&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), size_(other.size_)
{
}

inbox_file& inbox_file::operator=(inbox_file&& other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        path_ = std::move(other.path_);
        fd_ = std::exchange(other.fd_, -1);
        size_ = other.size_;
    }
    return *this;
}

inbox_file::~inbox_file()
{
    if (fd_ >= 0)
        ::close(fd_);
}

std::pair<inbox_file, recovered_state> inbox_file::open(std::filesystem::path path,
                                                        system_clock::duration seen_window)
{
    if (path.has_parent_path())
        std::filesystem::create_directories(path.parent_path());
    auto const image = read_whole(path);
    auto decoded = decode_log(image);
    if (decoded.valid_bytes < image.size())
        spdlog::warn("inbox '{}': dropped {} bytes after offset {}: an incomplete or corrupt record, usually "
                     "the last write before a crash",
                     path.string(), image.size() - decoded.valid_bytes, decoded.valid_bytes);
    auto state = replay_records(decoded.records);

    // Keep only delivery ids that are still inside the duplicate window.
    auto const horizon = system_clock::now() - seen_window;
    std::erase_if(state.seen, [&](auto const& entry) { return entry.second < horizon; });

    std::string live;
    for (auto const& [id, at] : state.seen)
        live += encode_seen(id, at);
    for (auto const& [event, info] : state.dead) {
        live += encode_event(event);
        live += encode_dead(event.sequence, info);
    }
    for (auto const& event : state.pending)
        live += encode_event(event);

    inbox_file file(path, -1, 0);
    file.rewrite(live);
    spdlog::info("inbox '{}' opened: {} pending events, {} dead letters, {} delivery ids remembered",
                 path.string(), state.pending.size(), state.dead.size(), state.seen.size());
    return {std::move(file), std::move(state)};
}

void inbox_file::write_and_sync(std::string_view bytes, bool sync)
{
    write_all(fd_, bytes, path_);
    size_ += bytes.size();
    if (sync && ::fdatasync(fd_) != 0)
        throw file_error("cannot sync the inbox", path_);
}

void inbox_file::rewrite(std::string_view live_records)
{
    auto temporary = path_;
    temporary += ".compact";
    int const fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw file_error("cannot create", temporary);
    try {
        write_all(fd, live_records, temporary);
        if (::fdatasync(fd) != 0)
            throw file_error("cannot sync", temporary);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path_.c_str()) != 0)
        throw file_error("cannot rename the compacted inbox to", path_);
    sync_directory(path_.parent_path());

    int const appender = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (appender < 0)
        throw file_error("cannot open the inbox", path_);
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = appender;
    size_ = live_records.size();
}

} // namespace ocean::live_events
