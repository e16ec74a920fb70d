// Links against the installed library and calls into it, so a missing header or symbol fails.
#include <ocean/http/signature.hpp>
#include <ocean/ocean.hpp>

#include <iostream>

int main()
{
    auto const config = ocean::integration_config::from_values({{"OCEAN__PORT__CLIENT_ID", "consumer-id"}});
    auto const digest = ocean::http::hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!");
    std::cout << config.port_client_id << " " << digest << "\n";
    return digest == "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" ? 0 : 1;
}
