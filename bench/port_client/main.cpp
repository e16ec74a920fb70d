// Upserts generated entities into a Port API (normally ocean-port-emulator on loopback) through
// ocean::port::client and prints the throughput. Used by bench/port_client.sh.
//
// Usage: bench_port_client BASE_URL [ENTITIES] [BLUEPRINTS] [MAX_CONCURRENT_REQUESTS]
#include <ocean/port/client.hpp>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace {

namespace asio = boost::asio;
namespace port = ocean::port;

// An entity of about 350 bytes of JSON, shaped like a mapped GitHub repository.
port::entity make_entity(std::size_t index, std::size_t blueprints)
{
    port::entity e;
    e.blueprint = "bench-blueprint-" + std::to_string(index % blueprints);
    e.identifier = "bench-org/repository-" + std::to_string(index);
    e.title = "Repository " + std::to_string(index);
    e.properties["url"] = "https://github.com/bench-org/repository-" + std::to_string(index);
    e.properties["language"] = index % 3 == 0 ? "C++" : "Python";
    e.properties["stars"] = static_cast<std::int64_t>(index % 1000);
    e.properties["archived"] = false;
    e.properties["description"] = "A generated repository used to measure the upsert throughput of the Port client.";
    e.relations["team"] = "team-" + std::to_string(index % 50);
    return e;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s BASE_URL [ENTITIES] [BLUEPRINTS] [MAX_CONCURRENT_REQUESTS]\n", argv[0]);
        return 2;
    }
    try {
        std::size_t const count = argc > 2 ? std::stoul(argv[2]) : 100'000;
        std::size_t const blueprints = argc > 3 ? std::stoul(argv[3]) : 1;
        spdlog::set_level(spdlog::level::warn);

        port::client_config config;
        config.base_url = argv[1];
        config.client_id = "local-client-id";
        config.client_secret = "local-client-secret";
        config.integration_type = "bench";
        config.integration_identifier = "bench-integration";
        if (argc > 4)
            config.max_concurrent_requests = std::stoul(argv[4]);

        std::vector<port::entity> entities;
        entities.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
            entities.push_back(make_entity(i, blueprints == 0 ? 1 : blueprints));

        asio::io_context io;
        port::client client(io.get_executor(), config);
        auto const started = std::chrono::steady_clock::now();
        boost::system::error_code ec;
        port::write_result result;
        client.async_upsert_entities(std::move(entities), {}, [&](boost::system::error_code e, port::write_result r) {
            ec = e;
            result = std::move(r);
        });
        io.run();
        auto const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

        std::printf("entities: %zu\n", count);
        std::printf("max concurrent requests: %zu\n", config.max_concurrent_requests);
        std::printf("stored: %zu, rejected: %zu, pending: %zu, error: %s\n", result.succeeded, result.failures.size(),
                    result.pending.size(), ec ? ec.message().c_str() : "none");
        std::printf("seconds: %.3f\n", seconds);
        std::printf("entities/s: %.0f\n", static_cast<double>(count) / seconds);
        return ec || result.succeeded != count ? 1 : 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "bench_port_client: %s\n", e.what());
        return 1;
    }
}
