#include "mapping/jq_runtime.hpp"

#include <ocean/error.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

extern "C" {
#include <jq.h>
}

#include <cmath>
#include <limits>
#include <mutex>

namespace ocean::mapping::detail {

namespace {

/// From this magnitude on, distinct integers share a double, so a double no longer identifies the
/// integer it came from.
constexpr std::uint64_t max_exact_integer = std::uint64_t{1} << 53;

void note_large(std::vector<large_integer>* large, boost::json::value const& value, double approximation)
{
    if (large != nullptr)
        large->push_back({approximation, value});
}

std::string string_of(jv text)
{
    return std::string(jv_string_value(text), static_cast<std::size_t>(jv_string_length_bytes(jv_copy(text))));
}

/// Turns a message that jq passes to the error callback into one line without jq's prefixes.
std::string clean_compile_message(jv message)
{
    std::string text;
    if (jv_get_kind(message) == JV_KIND_STRING)
        text = string_of(message);
    else
        text = dump_text(message);

    constexpr std::string_view prefix = "jq: error: ";
    if (text.starts_with(prefix))
        text.erase(0, prefix.size());
    if (auto newline = text.find('\n'); newline != std::string::npos)
        text.erase(newline);
    while (!text.empty() && (text.back() == ':' || text.back() == ' '))
        text.pop_back();
    return text;
}

void collect_error(void* data, jv message)
{
    auto& errors = *static_cast<std::vector<std::string>*>(data);
    std::string text = clean_compile_message(message);
    jv_free(message);
    // jq ends a failed compilation with a "jq: N compile error(s)" summary, which adds nothing.
    if (text.starts_with("jq: ") && text.find("compile error") != std::string::npos)
        return;
    errors.push_back(std::move(text));
}

/// libjq 1.6 documents no thread safety for compilation, which builds the builtin library on each
/// call. Compilations are therefore serialised, while runs on distinct states go in parallel.
std::mutex& compile_mutex()
{
    static std::mutex mutex;
    return mutex;
}

bool is_identifier_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_identifier_char(char c)
{
    return is_identifier_start(c) || (c >= '0' && c <= '9');
}

std::string_view trim(std::string_view text)
{
    auto const first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    auto const last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

} // namespace

key_cache::~key_cache()
{
    for (auto& entry : keys_)
        jv_free(entry.second);
}

key_cache& key_cache::operator=(key_cache&& other) noexcept
{
    if (this != &other) {
        for (auto& entry : keys_)
            jv_free(entry.second);
        keys_ = std::move(other.keys_);
        other.keys_.clear();
    }
    return *this;
}

jv key_cache::get(std::string_view key)
{
    if (auto found = keys_.find(key); found != keys_.end())
        return jv_copy(found->second);
    jv text = jv_string_sized(key.data(), static_cast<int>(key.size()));
    if (keys_.size() < max_keys)
        keys_.emplace(std::string(key), jv_copy(text));
    return text;
}

jv to_jv(boost::json::value const& value, std::vector<large_integer>* large, key_cache* keys)
{
    switch (value.kind()) {
    case boost::json::kind::null:
        return jv_null();
    case boost::json::kind::bool_:
        return jv_bool(value.get_bool());
    case boost::json::kind::int64: {
        auto const number = value.get_int64();
        auto const approximation = static_cast<double>(number);
        auto const magnitude = number < 0 ? std::uint64_t(0) - static_cast<std::uint64_t>(number)
                                          : static_cast<std::uint64_t>(number);
        if (magnitude >= max_exact_integer)
            note_large(large, value, approximation);
        return jv_number(approximation);
    }
    case boost::json::kind::uint64: {
        auto const number = value.get_uint64();
        auto const approximation = static_cast<double>(number);
        if (number >= max_exact_integer)
            note_large(large, value, approximation);
        return jv_number(approximation);
    }
    case boost::json::kind::double_:
        return jv_number(value.get_double());
    case boost::json::kind::string: {
        auto const& text = value.get_string();
        return jv_string_sized(text.data(), static_cast<int>(text.size()));
    }
    case boost::json::kind::array: {
        auto const& array = value.get_array();
        jv out = jv_array_sized(static_cast<int>(array.size()));
        int index = 0;
        for (auto const& element : array)
            out = jv_array_set(out, index++, to_jv(element, large, keys));
        return out;
    }
    case boost::json::kind::object: {
        jv out = jv_object();
        for (auto const& member : value.get_object()) {
            auto const key = member.key();
            jv name = keys != nullptr ? keys->get(key) : jv_string_sized(key.data(), static_cast<int>(key.size()));
            out = jv_object_set(out, name, to_jv(member.value(), large, keys));
        }
        return out;
    }
    }
    return jv_null();
}

boost::json::value to_json(jv value)
{
    switch (jv_get_kind(value)) {
    case JV_KIND_INVALID:
    case JV_KIND_NULL:
        return nullptr;
    case JV_KIND_FALSE:
        return false;
    case JV_KIND_TRUE:
        return true;
    case JV_KIND_NUMBER: {
        double const number = jv_number_value(value);
        // jq prints NaN as null and infinities as the largest finite doubles.
        if (std::isnan(number))
            return nullptr;
        if (std::isinf(number))
            return number > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
        if (std::trunc(number) == number && number >= -9223372036854775808.0 && number < 9223372036854775808.0)
            return static_cast<std::int64_t>(number);
        return number;
    }
    case JV_KIND_STRING:
        return boost::json::string(string_of(value));
    case JV_KIND_ARRAY: {
        int const length = jv_array_length(jv_copy(value));
        boost::json::array out;
        out.reserve(static_cast<std::size_t>(length));
        for (int i = 0; i < length; ++i) {
            jv_ref element(jv_array_get(jv_copy(value), i));
            out.push_back(to_json(element.get()));
        }
        return out;
    }
    case JV_KIND_OBJECT: {
        boost::json::object out;
        out.reserve(static_cast<std::size_t>(jv_object_length(jv_copy(value))));
        for (int it = jv_object_iter(value); jv_object_iter_valid(value, it); it = jv_object_iter_next(value, it)) {
            jv_ref key(jv_object_iter_key(value, it));
            jv_ref member(jv_object_iter_value(value, it));
            out.insert_or_assign(string_of(key.get()), to_json(member.get()));
        }
        return out;
    }
    }
    return nullptr;
}

std::string dump_text(jv value)
{
    jv_ref text(jv_dump_string(jv_copy(value), 0));
    return string_of(text.get());
}

struct jq_program::state {
    jq_state* jq = nullptr;
    std::vector<std::string> errors;

    ~state()
    {
        if (jq != nullptr)
            jq_teardown(&jq);
    }
};

jq_program::jq_program(std::string_view path, std::string const& source) : state_(std::make_unique<state>())
{
    std::lock_guard lock(compile_mutex());
    state_->jq = jq_init();
    if (state_->jq == nullptr)
        throw config_error(std::string(path) + ": jq_init failed (out of memory)");
    jq_set_error_cb(state_->jq, collect_error, &state_->errors);

    if (jq_compile(state_->jq, source.c_str()) == 0) {
        std::string message;
        for (auto const& error : state_->errors) {
            if (!message.empty())
                message += "; ";
            message += error;
        }
        if (message.empty())
            message = "invalid program";
        throw config_error(std::string(path) + ": jq compile error: " + message);
    }
    state_->errors.clear();
}

jq_program::~jq_program() = default;
jq_program::jq_program(jq_program&&) noexcept = default;
jq_program& jq_program::operator=(jq_program&&) noexcept = default;

jq_outcome jq_program::first(jv input) const
{
    jq_outcome outcome;
    // jq_start consumes its input, so it gets its own reference.
    jq_start(state_->jq, jv_copy(input), 0);
    jv_ref result(jq_next(state_->jq));
    if (result.valid()) {
        outcome.state = jq_outcome::status::value;
        outcome.value = std::move(result);
        return outcome;
    }

    jv_ref message(jv_invalid_get_msg(result.release()));
    if (message.kind() == JV_KIND_NULL) {
        outcome.state = jq_outcome::status::empty;
        return outcome;
    }
    outcome.state = jq_outcome::status::error;
    if (message.kind() == JV_KIND_STRING)
        outcome.error = string_of(message.get());
    else
        outcome.error = dump_text(message.get()) + " (not a string)";
    return outcome;
}

std::string rewrite_single_quotes(std::string_view program)
{
    // Each frame is a nesting level: code, a double-quoted string, or code inside "\( ... )".
    struct frame {
        bool in_string;
        int paren_depth;
    };
    std::vector<frame> frames{{false, 0}};
    std::string out;
    out.reserve(program.size());

    for (std::size_t i = 0; i < program.size(); ++i) {
        char const c = program[i];
        frame& top = frames.back();

        if (top.in_string) {
            if (c == '\\' && i + 1 < program.size()) {
                out += c;
                out += program[++i];
                if (program[i] == '(')
                    frames.push_back({false, 0});
            } else {
                out += c;
                if (c == '"')
                    frames.pop_back();
            }
            continue;
        }

        if (c == '"') {
            out += c;
            frames.push_back({true, 0});
        } else if (c == '(') {
            ++top.paren_depth;
            out += c;
        } else if (c == ')') {
            out += c;
            if (top.paren_depth == 0 && frames.size() > 1)
                frames.pop_back(); // closes a string interpolation
            else if (top.paren_depth > 0)
                --top.paren_depth;
        } else if (c == '#') {
            // A comment runs to the end of the line and is copied as written.
            auto const end = program.find('\n', i);
            auto const stop = end == std::string_view::npos ? program.size() : end;
            out.append(program.substr(i, stop - i));
            i = stop - 1;
        } else if (c == '\'') {
            std::size_t end = i + 1;
            while (end < program.size() && program[end] != '\'')
                end += program[end] == '\\' ? 2 : 1;
            if (end >= program.size()) {
                // Unterminated: leave it for jq to report.
                out.append(program.substr(i));
                break;
            }
            out += '"';
            for (std::size_t k = i + 1; k < end; ++k) {
                if (program[k] == '\\') {
                    out += program[k];
                    out += program[++k];
                } else if (program[k] == '"') {
                    out += "\\\"";
                } else {
                    out += program[k];
                }
            }
            out += '"';
            i = end;
        } else {
            out += c;
        }
    }
    return out;
}

/// Reads `.key` or `."key"` segments from the start of `text`; returns how many characters they
/// took. A quoted key with a backslash is not read, because jq's escapes would need decoding.
std::size_t read_path_segments(std::string_view text, std::vector<std::string>& keys)
{
    std::size_t i = 0;
    while (i < text.size() && text[i] == '.') {
        if (i + 1 < text.size() && is_identifier_start(text[i + 1])) {
            std::size_t end = i + 2;
            while (end < text.size() && is_identifier_char(text[end]))
                ++end;
            keys.emplace_back(text.substr(i + 1, end - i - 1));
            i = end;
        } else if (i + 1 < text.size() && text[i + 1] == '"') {
            auto const close = text.find('"', i + 2);
            if (close == std::string_view::npos)
                break;
            auto const key = text.substr(i + 2, close - i - 2);
            if (key.find('\\') != std::string_view::npos)
                break;
            keys.emplace_back(key);
            i = close + 1;
        } else {
            break;
        }
    }
    return i;
}

bool parse_plain_path(std::string_view program, std::vector<std::string>& keys)
{
    keys.clear();
    auto const text = trim(program);
    if (text == ".")
        return true;
    if (read_path_segments(text, keys) == text.size() && !keys.empty())
        return true;
    keys.clear();
    return false;
}

bool parse_leading_path(std::string_view program, std::vector<std::string>& keys)
{
    keys.clear();
    read_path_segments(trim(program), keys);
    return !keys.empty();
}

} // namespace ocean::mapping::detail
