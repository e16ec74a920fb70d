// Webhook signature verification: sans-I/O checks and route filters built on them.
#pragma once

#include <ocean/http/router.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocean::http {

/// The outcome of a signature check: accepted, or the reason for rejection.
enum class signature_status {
    valid,
    /// The signature (or token, or timestamp) header is absent.
    missing,
    /// A header is present but cannot be parsed, or appears more than once.
    malformed,
    /// Well-formed, but no configured secret produced it.
    mismatch,
    /// The signed timestamp is outside the tolerance window (replay or clock skew).
    expired,
};

/// The outcome of a check. `reason` is safe to return to the sender and to log: it never holds a
/// secret, the received signature or the expected digest.
struct verification {
    signature_status status = signature_status::mismatch;
    std::string reason;

    explicit operator bool() const noexcept { return status == signature_status::valid; }
};

/// Returns the lower-case hex HMAC-SHA256 of `data` with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// Returns the standard base64 HMAC-SHA256 of `data` with `key`.
std::string hmac_sha256_base64(std::string_view key, std::string_view data);

/// Compares in time that depends only on the lengths, not on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Checks `<prefix><hex HMAC-SHA256 of body>`, GitHub's `X-Hub-Signature-256: sha256=<hex>`.
/// Any of `secrets` may match (rotation). Empty secrets never match.
verification verify_hmac_hex(std::string_view body, std::optional<std::string_view> header,
                             std::span<std::string const> secrets, std::string_view prefix = "sha256=");

/// Checks a shared token sent verbatim (GitLab's `X-Gitlab-Token`): exact, case-sensitive match.
verification verify_token(std::optional<std::string_view> header, std::span<std::string const> secrets);

/// Checks a comma-separated list of `v1=<hex>` entries over the body (PagerDuty's
/// `X-PagerDuty-Signature`); any entry produced by any secret is accepted.
verification verify_hmac_hex_list(std::string_view body, std::optional<std::string_view> header,
                                  std::span<std::string const> secrets, std::string_view scheme = "v1");

/// Checks `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` where the signed text is `<t>.<body>` (the
/// Stripe-style scheme). The timestamp must be within `tolerance` of `now`, either direction.
verification verify_timestamped_hmac(std::string_view body, std::optional<std::string_view> header,
                                     std::span<std::string const> secrets, std::chrono::system_clock::time_point now,
                                     std::chrono::seconds tolerance = std::chrono::minutes(5));

/// Checks Standard Webhooks (and Svix): headers `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` (space-separated `v1,<base64>` entries) over `<id>.<timestamp>.<body>`.
/// Secrets are `whsec_<base64 key>` or raw keys.
verification verify_standard_webhook(std::string_view body, std::optional<std::string_view> id,
                                     std::optional<std::string_view> timestamp,
                                     std::optional<std::string_view> signature, std::span<std::string const> secrets,
                                     std::chrono::system_clock::time_point now,
                                     std::chrono::seconds tolerance = std::chrono::minutes(5));

/// Route filters. Each throws std::invalid_argument at construction when `secrets` is empty or
/// holds an empty string, so a missing secret stops startup instead of accepting everything.
/// A rejected request gets 401 JSON with the reason; a header sent twice gets 400.
filter github_signature(std::vector<std::string> secrets, std::string header = "X-Hub-Signature-256");
filter token_header(std::vector<std::string> secrets, std::string header = "X-Gitlab-Token");
filter hmac_hex_list(std::vector<std::string> secrets, std::string header = "X-PagerDuty-Signature");
filter timestamped_signature(std::vector<std::string> secrets, std::string header,
                             std::chrono::seconds tolerance = std::chrono::minutes(5));
filter standard_webhooks(std::vector<std::string> secrets, std::chrono::seconds tolerance = std::chrono::minutes(5),
                         std::string header_prefix = "webhook-");

/// The explicit opt-in for routes that accept unsigned deliveries: logs a warning naming `route`
/// once, at construction, and lets every request through.
filter unsigned_delivery(std::string_view route);

} // namespace ocean::http
