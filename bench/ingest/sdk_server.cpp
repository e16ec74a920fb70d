// The SDK side of bench/ingest.sh: ocean::http::server with two routes on one io_context thread.
// POST /integration/webhook parses the JSON body and answers 200; POST /integration/signed first
// checks X-Hub-Signature-256 (HMAC-SHA256 with the secret "bench-secret"), then does the same.
// Usage: bench_ingest_sdk [PORT]; 0 or none picks one.
#include <ocean/http/server.hpp>
#include <ocean/http/signature.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;

int main(int argc, char** argv)
{
    // The access log line per request is measured separately; at info it would dominate here.
    spdlog::set_level(spdlog::level::warn);

    asio::io_context io(1);
    ocean::http::server_config config;
    config.host = "127.0.0.1";
    config.port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    // One thread runs the io_context, as in the baseline, so connections need no strand.
    config.strand_per_connection = false;
    ocean::http::server server(io.get_executor(), config);

    auto parse_and_answer = [](ocean::http::request const& r) -> asio::awaitable<ocean::http::response> {
        auto const& body = r.json();
        co_return ocean::http::response::json(boost::json::object{{"ok", body.is_object()}});
    };
    server.router().group("/integration").post("/webhook", parse_and_answer);
    server.router().group("/integration", {ocean::http::github_signature({"bench-secret"})}).post("/signed", parse_and_answer);

    if (auto ec = server.listen()) {
        std::cerr << "bench_ingest_sdk: cannot listen: " << ec.message() << "\n";
        return 1;
    }
    server.set_ready(true);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { server.stop(); });
    server.async_run(asio::detached);
    std::cout << "listening on 127.0.0.1:" << server.local_endpoint().port() << std::endl;
    io.run();
}
