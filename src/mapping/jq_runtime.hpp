// Thin RAII layer over libjq 1.6: owned jv references, compiled programs, tree conversion.
#pragma once

#include <boost/json/value.hpp>

// libjq 1.6 headers declare C functions without extern "C".
extern "C" {
#include <jv.h>
}

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct jq_state;

namespace ocean::mapping::detail {

/// One owned jv reference; frees it on destruction. libjq functions that consume their argument
/// get `release()` (or a `copy()`), functions that only read it get `get()`.
class jv_ref {
public:
    jv_ref() noexcept : value_(jv_invalid()) {}
    explicit jv_ref(jv value) noexcept : value_(value) {}
    ~jv_ref() { jv_free(value_); }
    jv_ref(jv_ref&& other) noexcept : value_(other.value_) { other.value_ = jv_invalid(); }
    jv_ref& operator=(jv_ref&& other) noexcept
    {
        if (this != &other) {
            jv_free(value_);
            value_ = other.value_;
            other.value_ = jv_invalid();
        }
        return *this;
    }
    jv_ref(jv_ref const&) = delete;
    jv_ref& operator=(jv_ref const&) = delete;

    jv get() const noexcept { return value_; }
    jv copy() const noexcept { return jv_copy(value_); }
    jv release() noexcept
    {
        jv out = value_;
        value_ = jv_invalid();
        return out;
    }
    jv_kind kind() const noexcept { return jv_get_kind(value_); }
    bool valid() const noexcept { return jv_get_kind(value_) != JV_KIND_INVALID; }

private:
    jv value_;
};

/// An integer of the input whose double may stand for other integers too (magnitude 2^53 or more).
struct large_integer {
    double approximation;
    boost::json::value exact;
};

/// Shared jv strings for object keys, so that a key met in every item is allocated, validated and
/// hashed by jq once. Not thread-safe, like the jq states: jv reference counts are not atomic.
class key_cache {
public:
    key_cache() = default;
    ~key_cache();
    key_cache(key_cache&&) noexcept = default;
    key_cache& operator=(key_cache&&) noexcept;
    key_cache(key_cache const&) = delete;
    key_cache& operator=(key_cache const&) = delete;

    /// Returns a new reference to the jv string `key`.
    jv get(std::string_view key);

private:
    /// Bound on the cached keys, so items with unique keys (ids as keys) cannot grow it forever.
    static constexpr std::size_t max_keys = 4096;

    struct text_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
    };
    std::unordered_map<std::string, jv, text_hash, std::equal_to<>> keys_;
};

/// Converts a Boost.JSON tree to jv by walking it. Integers from 2^53 on become the nearest double
/// (all libjq 1.6 can hold); when `large` is not null each of them is appended to it. Object keys
/// come from `keys` when it is not null.
jv to_jv(boost::json::value const& value, std::vector<large_integer>* large = nullptr, key_cache* keys = nullptr);

/// Converts a jv tree to Boost.JSON without consuming it. Integral numbers that fit int64 become
/// int64 (jq stores 900016 as 900016.0); other numbers stay double.
boost::json::value to_json(jv value);

/// Returns the text jq prints for `value` (as `tostring` would), without consuming it.
std::string dump_text(jv value);

/// The first output of one run of a program.
struct jq_outcome {
    enum class status { value, empty, error };
    status state = status::empty;
    /// Valid when `state == status::value`.
    jv_ref value;
    /// jq's error message when `state == status::error`.
    std::string error;
};

/// One compiled jq program with its own jq_state. Not thread-safe: libjq keeps the run's stack in
/// the state, so each thread needs its own instance.
class jq_program {
public:
    /// Compiles `source` as given (no quote rewrite). Throws ocean::config_error with
    /// "<path>: jq compile error: <jq's message>" on failure.
    jq_program(std::string_view path, std::string const& source);
    ~jq_program();
    jq_program(jq_program&&) noexcept;
    jq_program& operator=(jq_program&&) noexcept;

    /// Runs the program on `input` (not consumed) and returns its first output only.
    jq_outcome first(jv input) const;

private:
    struct state;
    std::unique_ptr<state> state_;
};

/// Rewrites single-quoted string delimiters outside double-quoted strings to double quotes, as
/// Port does before compiling: `.a == 'x'` becomes `.a == "x"`. A double quote inside a
/// single-quoted literal is escaped so the literal keeps its text.
std::string rewrite_single_quotes(std::string_view program);

/// Reads `.key` or `."key"` segments from the start of `text` into `keys` and returns how many
/// characters they took (0 when `text` does not start with one).
std::size_t read_path_segments(std::string_view text, std::vector<std::string>& keys);

/// Returns the keys of `program` when it is a plain object path (`.`, `.id`, `.owner.login`,
/// `."key with space"`), or nothing. Such a program can be resolved directly on the JSON tree.
bool parse_plain_path(std::string_view program, std::vector<std::string>& keys);

/// Returns the leading plain path of `program` (`.labels` in `.labels | map(.x)`), used to delete
/// the parsed array from the parent when itemsToParse's top-level transform is on.
bool parse_leading_path(std::string_view program, std::vector<std::string>& keys);

} // namespace ocean::mapping::detail
