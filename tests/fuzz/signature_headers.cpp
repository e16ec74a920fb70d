// Fuzzes the webhook signature header parsers: GitHub hex, shared token, PagerDuty's list,
// Stripe-style timestamped entries and Standard Webhooks, each with two configured secrets.
#include "fuzz_support.hpp"

#include <ocean/http/signature.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    ocean::fuzz::quiet_logging();
    static std::vector<std::string> const secrets{"fuzz-secret", "whsec_Zm96ei1rZXktZm9yLXRlc3Rz"};

    FuzzedDataProvider input(data, size);
    auto const header = input.ConsumeRandomLengthString(512);
    auto const id = input.ConsumeRandomLengthString(128);
    auto const timestamp = input.ConsumeRandomLengthString(64);
    auto const tolerance = std::chrono::seconds(input.ConsumeIntegral<std::int64_t>());
    auto const body = input.ConsumeRemainingBytesAsString();
    auto const now = ocean::fuzz::fixed_now();

    (void)ocean::http::verify_hmac_hex(body, header, secrets);
    (void)ocean::http::verify_token(header, secrets);
    (void)ocean::http::verify_hmac_hex_list(body, header, secrets);
    (void)ocean::http::verify_timestamped_hmac(body, header, secrets, now, tolerance);
    (void)ocean::http::verify_standard_webhook(body, id, timestamp, header, secrets, now, tolerance);
    return 0;
}
