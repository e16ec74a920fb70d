// ocean-sample-embedded: the SDK as a guest in an application's own event loop. One io_context on
// the main thread serves the application's line protocol over TCP, runs its timer, and runs the
// integration (HTTP server, Port client, resyncs) next to them. The application counts the
// threads in /proc/self/task before it creates the integration and after the first resync, and
// prints both counts, because the SDK must not start threads of its own.
//
// Line protocol (one command per line): `echo TEXT` returns TEXT, `time` the UTC time,
// `threads` the number of threads of this process, `stats` connections and timer ticks, `quit`
// closes the connection. The port comes from EMBEDDED_LINE_PORT (default 0, a free port).
#include <ocean/ocean.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::size_t thread_count()
{
    std::size_t count = 0;
    for ([[maybe_unused]] auto const& entry : std::filesystem::directory_iterator("/proc/self/task"))
        ++count;
    return count;
}

std::string utc_now()
{
    auto const now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

struct app_stats {
    std::size_t connections = 0;
    std::size_t open = 0;
    std::size_t ticks = 0;
    std::uint16_t line_port = 0;
};

asio::awaitable<void> serve_lines(asio::ip::tcp::socket socket, app_stats& stats)
{
    ++stats.connections;
    ++stats.open;
    std::string buffer;
    for (;;) {
        auto [ec, size] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, 4096), '\n',
                                                          asio::as_tuple(asio::use_awaitable));
        if (ec)
            break;
        auto line = buffer.substr(0, size - 1);
        buffer.erase(0, size);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();

        std::string reply;
        if (line.starts_with("echo "))
            reply = line.substr(5);
        else if (line == "time")
            reply = utc_now();
        else if (line == "threads")
            reply = std::to_string(thread_count());
        else if (line == "stats")
            reply = "connections=" + std::to_string(stats.connections) + " ticks=" + std::to_string(stats.ticks);
        else if (line == "quit")
            break;
        else
            reply = "error: unknown command; use echo, time, threads, stats or quit";
        reply += '\n';
        auto [write_error, written] = co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
        if (write_error)
            break;
    }
    --stats.open;
}

asio::awaitable<void> accept_lines(asio::ip::tcp::acceptor& acceptor, app_stats& stats)
{
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted)
            co_return;
        if (ec) {
            spdlog::warn("line service: accept failed: {}", ec.message());
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), serve_lines(std::move(socket), stats), asio::detached);
    }
}

asio::awaitable<void> tick(asio::steady_timer& timer, app_stats& stats)
{
    for (;;) {
        timer.expires_after(std::chrono::milliseconds(250));
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec)
            co_return;
        ++stats.ticks;
    }
}

} // namespace

int main()
{
    asio::io_context io;
    auto const threads_before = thread_count();

    ocean::integration_config config;
    try {
        config = ocean::integration_config::from_environment();
        config.validate();
    } catch (ocean::config_error const& e) {
        std::cerr << "ocean-sample-embedded: " << e.what() << "\n";
        return 2;
    }
    spdlog::set_level(spdlog::level::from_str(config.log_level));

    // The application's own service and timer, on the same io_context as the integration.
    app_stats stats;
    std::uint16_t line_port = 0;
    if (char const* value = std::getenv("EMBEDDED_LINE_PORT"))
        line_port = static_cast<std::uint16_t>(std::stoul(value));
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), line_port});
    stats.line_port = acceptor.local_endpoint().port();
    asio::steady_timer ticker(io);
    asio::co_spawn(io, accept_lines(acceptor, stats), asio::detached);
    asio::co_spawn(io, tick(ticker, stats), asio::detached);

    ocean::integration app(io.get_executor(), config);
    // The application exports itself: one entity describing the line service.
    app.on_resync("service", [&stats](std::string const&) -> asio::awaitable<ocean::raw_batch> {
        ocean::raw_batch items;
        items.push_back(json::object{{"id", "embedded-line-service"},
                                     {"name", "Embedded line service"},
                                     {"port", stats.line_port},
                                     {"connections", stats.connections},
                                     {"ticks", stats.ticks}});
        co_return items;
    });
    bool reported = false;
    app.on_resync_complete([&]() -> asio::awaitable<void> {
        if (!reported) {
            reported = true;
            std::cout << "ocean-sample-embedded threads: before=" << threads_before << " after=" << thread_count()
                      << std::endl;
        }
        co_return;
    });

    if (auto ec = app.listen()) {
        std::cerr << "ocean-sample-embedded: cannot listen on " << config.application_host << ":"
                  << config.application_port << ": " << ec.message() << "\n";
        return 1;
    }
    auto const endpoint = app.local_endpoint();
    std::cout << "ocean-sample-embedded listening on http://" << endpoint.address().to_string() << ":"
              << endpoint.port() << std::endl;
    std::cout << "ocean-sample-embedded line service on 127.0.0.1:" << stats.line_port << std::endl;

    bool signalled = false;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) {
            signalled = true;
            app.stop();
        }
    });

    int exit_code = 0;
    app.async_run([&](boost::system::error_code ec) {
        if (ec && !signalled) {
            spdlog::error("integration stopped with an error: {}", ec.message());
            exit_code = 1;
        }
        // The application decides when its own services end: here, with the integration.
        signals.cancel();
        acceptor.close();
        ticker.cancel();
        io.stop();
    });
    io.run();
    return exit_code;
}
