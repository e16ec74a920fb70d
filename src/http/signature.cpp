#include <ocean/http/signature.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <memory>
#include <stdexcept>

namespace ocean::http {
namespace {

// Returns this thread's HMAC-SHA256 context, fetched from the provider once: OpenSSL 3's
// one-shot HMAC() fetches the algorithm again on every call. EVP_MAC_init with a key resets the
// context, so each call starts clean.
EVP_MAC_CTX* hmac_sha256_context()
{
    struct context_deleter {
        void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
    };
    thread_local std::unique_ptr<EVP_MAC_CTX, context_deleter> const context = [] {
        EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (mac == nullptr)
            throw std::runtime_error("OpenSSL has no HMAC implementation");
        std::unique_ptr<EVP_MAC_CTX, context_deleter> ctx(EVP_MAC_CTX_new(mac));
        EVP_MAC_free(mac);
        char digest[] = "SHA256";
        OSSL_PARAM const params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                     OSSL_PARAM_construct_end()};
        if (!ctx || EVP_MAC_CTX_set_params(ctx.get(), params) != 1)
            throw std::runtime_error("OpenSSL failed to set up HMAC-SHA256");
        return ctx;
    }();
    return context.get();
}

std::string hmac_raw(std::string_view key, std::string_view data)
{
    auto* ctx = hmac_sha256_context();
    unsigned char digest[EVP_MAX_MD_SIZE];
    std::size_t length = 0;
    // A null key would make EVP_MAC_init keep the previous call's key, so an empty key gets a
    // valid pointer.
    static unsigned char const empty_key = 0;
    auto const* key_bytes = key.empty() ? &empty_key : reinterpret_cast<unsigned char const*>(key.data());
    if (EVP_MAC_init(ctx, key_bytes, key.size(), nullptr) != 1 ||
        EVP_MAC_update(ctx, reinterpret_cast<unsigned char const*>(data.data()), data.size()) != 1 ||
        EVP_MAC_final(ctx, digest, &length, sizeof digest) != 1)
        throw std::runtime_error("OpenSSL failed to compute HMAC-SHA256");
    return std::string(reinterpret_cast<char const*>(digest), length);
}

std::string to_hex(std::string_view bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    return out;
}

std::string to_base64(std::string_view bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    auto const n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<unsigned char const*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> from_base64(std::string_view text)
{
    if (text.empty() || text.size() % 4 != 0)
        return std::nullopt;
    std::string out(3 * text.size() / 4, '\0');
    auto const n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<unsigned char const*>(text.data()), static_cast<int>(text.size()));
    if (n < 0)
        return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it)
        ++padding;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char separator)
{
    std::vector<std::string_view> parts;
    while (true) {
        auto const at = s.find(separator);
        parts.push_back(trim(s.substr(0, at)));
        if (at == std::string_view::npos)
            return parts;
        s.remove_prefix(at + 1);
    }
}

verification result(signature_status status, std::string reason)
{
    return verification{status, std::move(reason)};
}

// Checks the timestamp against the window and names both in the reason, so operators can tell
// clock skew from a wrong secret.
std::optional<verification> check_timestamp(std::string_view text, std::chrono::system_clock::time_point now,
                                            std::chrono::seconds tolerance, std::int64_t& seconds)
{
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || end != text.data() + text.size())
        return result(signature_status::malformed, "the signature timestamp '" + std::string(text.substr(0, 32)) +
                                                       "' is not a number of seconds");
    // A timestamp this far from the epoch (about 35,000 years) is outside any tolerance; rejecting
    // it first keeps the subtraction below from overflowing.
    constexpr std::int64_t far = std::int64_t{1} << 40;
    if (seconds < -far || seconds > far)
        return result(signature_status::expired, "the signature timestamp " + std::to_string(seconds) +
                                                     " is outside any tolerance");
    auto const current = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    auto const skew = current - seconds;
    if (skew > tolerance.count() || -skew > tolerance.count())
        return result(signature_status::expired,
                      "the signature timestamp " + std::to_string(seconds) + " is " + std::to_string(skew < 0 ? -skew : skew) +
                          " s " + (skew < 0 ? "in the future" : "old") + "; the tolerance is " +
                          std::to_string(tolerance.count()) + " s");
    return std::nullopt;
}

bool any_secret(std::span<std::string const> secrets)
{
    for (auto const& s : secrets)
        if (!s.empty())
            return true;
    return false;
}

void require_secrets(std::vector<std::string> const& secrets, std::string_view scheme)
{
    if (secrets.empty())
        throw std::invalid_argument(std::string(scheme) + ": no secret configured; refusing to accept unsigned "
                                    "deliveries (use http::unsigned_delivery to opt in)");
    for (auto const& s : secrets)
        if (s.empty())
            throw std::invalid_argument(std::string(scheme) + ": a configured secret is empty");
}

// Returns 401 (400 for a repeated or unparsable header) with the reason, and logs it once.
std::optional<response> reject(request const& r, verification const& v, std::string_view scheme)
{
    spdlog::warn("{} {} rejected by {} check (request id {}): {}", r.method(), r.path(), scheme, r.request_id(), v.reason);
    unsigned const status = v.status == signature_status::malformed ? 400 : 401;
    return response::error(status, status == 400 ? "invalid_signature_header" : "invalid_signature", v.reason);
}

// Returns the single value of `name`, or a verification error when it appears more than once.
std::optional<verification> single_header(request const& r, std::string_view name, std::optional<std::string_view>& value)
{
    if (r.headers().count(name) > 1)
        return result(signature_status::malformed, "header " + std::string(name) + " appears more than once");
    value = r.header(name);
    return std::nullopt;
}

} // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view data)
{
    return to_hex(hmac_raw(key, data));
}

std::string hmac_sha256_base64(std::string_view key, std::string_view data)
{
    return to_base64(hmac_raw(key, data));
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

verification verify_hmac_hex(std::string_view body, std::optional<std::string_view> header,
                             std::span<std::string const> secrets, std::string_view prefix)
{
    if (!any_secret(secrets))
        return result(signature_status::mismatch, "no secret is configured for this route");
    if (!header)
        return result(signature_status::missing, "the signature header is missing");
    auto const value = trim(*header);
    if (!value.starts_with(prefix) || value.size() != prefix.size() + 64)
        return result(signature_status::malformed,
                      "the signature header must be '" + std::string(prefix) + "' followed by 64 hex digits");
    auto const received = value.substr(prefix.size());
    bool matched = false;
    for (auto const& secret : secrets)
        if (!secret.empty())
            matched |= constant_time_equal(hmac_sha256_hex(secret, body), received);
    return matched ? result(signature_status::valid, "") : result(signature_status::mismatch, "invalid signature");
}

verification verify_token(std::optional<std::string_view> header, std::span<std::string const> secrets)
{
    if (!any_secret(secrets))
        return result(signature_status::mismatch, "no secret is configured for this route");
    if (!header)
        return result(signature_status::missing, "the token header is missing");
    bool matched = false;
    for (auto const& secret : secrets)
        if (!secret.empty())
            matched |= constant_time_equal(secret, *header);
    return matched ? result(signature_status::valid, "") : result(signature_status::mismatch, "invalid token");
}

verification verify_hmac_hex_list(std::string_view body, std::optional<std::string_view> header,
                                  std::span<std::string const> secrets, std::string_view scheme)
{
    if (!any_secret(secrets))
        return result(signature_status::mismatch, "no secret is configured for this route");
    if (!header)
        return result(signature_status::missing, "the signature header is missing");
    std::vector<std::string> expected;
    for (auto const& secret : secrets)
        if (!secret.empty())
            expected.push_back(hmac_sha256_hex(secret, body));
    bool matched = false;
    bool any_entry = false;
    for (auto const entry : split(*header, ',')) {
        auto const eq = entry.find('=');
        if (eq == std::string_view::npos || entry.substr(0, eq) != scheme)
            continue;
        any_entry = true;
        for (auto const& digest : expected)
            matched |= constant_time_equal(digest, entry.substr(eq + 1));
    }
    if (matched)
        return result(signature_status::valid, "");
    if (!any_entry)
        return result(signature_status::malformed, "the signature header has no '" + std::string(scheme) + "=' entry");
    return result(signature_status::mismatch, "invalid signature");
}

verification verify_timestamped_hmac(std::string_view body, std::optional<std::string_view> header,
                                     std::span<std::string const> secrets, std::chrono::system_clock::time_point now,
                                     std::chrono::seconds tolerance)
{
    if (!any_secret(secrets))
        return result(signature_status::mismatch, "no secret is configured for this route");
    if (!header)
        return result(signature_status::missing, "the signature header is missing");
    std::optional<std::string_view> timestamp;
    std::vector<std::string_view> signatures;
    for (auto const entry : split(*header, ',')) {
        auto const eq = entry.find('=');
        if (eq == std::string_view::npos)
            continue;
        auto const key = entry.substr(0, eq);
        if (key == "t")
            timestamp = entry.substr(eq + 1);
        else if (key == "v1")
            signatures.push_back(entry.substr(eq + 1));
    }
    if (!timestamp || signatures.empty())
        return result(signature_status::malformed, "the signature header must hold t=<unix seconds> and v1=<hex>");
    std::int64_t seconds = 0;
    if (auto failed = check_timestamp(*timestamp, now, tolerance, seconds))
        return *failed;

    std::string signed_text(*timestamp);
    signed_text += '.';
    signed_text += body;
    bool matched = false;
    for (auto const& secret : secrets) {
        if (secret.empty())
            continue;
        auto const digest = hmac_sha256_hex(secret, signed_text);
        for (auto const signature : signatures)
            matched |= constant_time_equal(digest, signature);
    }
    return matched ? result(signature_status::valid, "") : result(signature_status::mismatch, "invalid signature");
}

verification verify_standard_webhook(std::string_view body, std::optional<std::string_view> id,
                                     std::optional<std::string_view> timestamp,
                                     std::optional<std::string_view> signature, std::span<std::string const> secrets,
                                     std::chrono::system_clock::time_point now, std::chrono::seconds tolerance)
{
    if (!any_secret(secrets))
        return result(signature_status::mismatch, "no secret is configured for this route");
    if (!id || !timestamp || !signature)
        return result(signature_status::missing, "the webhook-id, webhook-timestamp or webhook-signature header is missing");
    std::int64_t seconds = 0;
    if (auto failed = check_timestamp(trim(*timestamp), now, tolerance, seconds))
        return *failed;

    std::string signed_text(*id);
    signed_text += '.';
    signed_text += trim(*timestamp);
    signed_text += '.';
    signed_text += body;

    std::vector<std::string> expected;
    for (auto const& secret : secrets) {
        if (secret.empty())
            continue;
        std::optional<std::string> key = secret;
        if (std::string_view(secret).starts_with("whsec_"))
            key = from_base64(std::string_view(secret).substr(6));
        if (!key)
            continue;
        expected.push_back(hmac_sha256_base64(*key, signed_text));
    }

    bool matched = false;
    bool any_v1 = false;
    for (auto const entry : split(*signature, ' ')) {
        if (!entry.starts_with("v1,"))
            continue;
        any_v1 = true;
        for (auto const& digest : expected)
            matched |= constant_time_equal(digest, entry.substr(3));
    }
    if (matched)
        return result(signature_status::valid, "");
    if (!any_v1)
        return result(signature_status::mismatch, "the signature header has no v1 signature");
    return result(signature_status::mismatch, "invalid signature");
}

namespace {

// Builds a filter that reads the one header `header` and passes its value to
// `verify(request, value)`, which returns a verification.
template <class Verify>
filter single_header_filter(std::string header, Verify verify)
{
    return [header = std::move(header), verify = std::move(verify)](
               request const& r) -> boost::asio::awaitable<std::optional<response>> {
        std::optional<std::string_view> value;
        if (auto bad = single_header(r, header, value))
            co_return reject(r, *bad, header);
        auto const v = verify(r, value);
        if (!v)
            co_return reject(r, v, header);
        co_return std::nullopt;
    };
}

} // namespace

filter github_signature(std::vector<std::string> secrets, std::string header)
{
    require_secrets(secrets, "signature " + header);
    return single_header_filter(std::move(header), [secrets = std::move(secrets)](request const& r, auto value) {
        return verify_hmac_hex(r.body(), value, secrets);
    });
}

filter token_header(std::vector<std::string> secrets, std::string header)
{
    require_secrets(secrets, "token " + header);
    return single_header_filter(std::move(header), [secrets = std::move(secrets)](request const&, auto value) {
        return verify_token(value, secrets);
    });
}

filter hmac_hex_list(std::vector<std::string> secrets, std::string header)
{
    require_secrets(secrets, "signature " + header);
    return single_header_filter(std::move(header), [secrets = std::move(secrets)](request const& r, auto value) {
        return verify_hmac_hex_list(r.body(), value, secrets);
    });
}

filter timestamped_signature(std::vector<std::string> secrets, std::string header, std::chrono::seconds tolerance)
{
    require_secrets(secrets, "signature " + header);
    return single_header_filter(std::move(header), [secrets = std::move(secrets), tolerance](request const& r, auto value) {
        return verify_timestamped_hmac(r.body(), value, secrets, std::chrono::system_clock::now(), tolerance);
    });
}

filter standard_webhooks(std::vector<std::string> secrets, std::chrono::seconds tolerance, std::string header_prefix)
{
    require_secrets(secrets, "Standard Webhooks signature");
    return [secrets = std::move(secrets), tolerance, prefix = std::move(header_prefix)](
               request const& r) -> boost::asio::awaitable<std::optional<response>> {
        std::optional<std::string_view> id;
        std::optional<std::string_view> timestamp;
        std::optional<std::string_view> signature;
        for (auto [name, target] : {std::pair{prefix + "id", &id}, std::pair{prefix + "timestamp", &timestamp},
                                    std::pair{prefix + "signature", &signature}}) {
            if (auto bad = single_header(r, name, *target))
                co_return reject(r, *bad, "Standard Webhooks");
        }
        auto const v =
            verify_standard_webhook(r.body(), id, timestamp, signature, secrets, std::chrono::system_clock::now(), tolerance);
        if (!v)
            co_return reject(r, v, "Standard Webhooks");
        co_return std::nullopt;
    };
}

filter unsigned_delivery(std::string_view route)
{
    spdlog::warn("signatures are NOT verified for {}: unsigned deliveries are accepted by explicit opt-in", route);
    return [](request const&) -> boost::asio::awaitable<std::optional<response>> { co_return std::nullopt; };
}

} // namespace ocean::http
