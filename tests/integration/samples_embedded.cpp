#define BOOST_TEST_MODULE samples_embedded
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/test_env.hpp"
#include "common/http_call.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using ocean::test::child_process;
using ocean::test::port_of;
using ocean::test::required_env;
using ocean::test::http_call;
using ocean::test::http_call_options;

namespace {

// Reads "... before=N after=M" into (N, M).
std::pair<int, int> thread_counts(std::string const& line)
{
    auto const before = line.find("before=");
    auto const after = line.find("after=");
    BOOST_REQUIRE(before != std::string::npos && after != std::string::npos);
    return {std::stoi(line.substr(before + 7)), std::stoi(line.substr(after + 6))};
}

std::size_t tasks_of(pid_t pid)
{
    std::size_t count = 0;
    for ([[maybe_unused]] auto const& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
        ++count;
    return count;
}

// Sends one line to the sample's line service and returns the reply line.
std::string ask(asio::ip::tcp::socket& socket, std::string const& command)
{
    asio::write(socket, asio::buffer(command + "\n"));
    std::string reply;
    asio::read_until(socket, asio::dynamic_buffer(reply), '\n');
    reply.pop_back();
    return reply;
}

struct embedded_fixture {
    embedded_fixture()
        : emulator(required_env("OCEAN_PORT_EMULATOR"), {"--listen", "127.0.0.1:0"}),
          emulator_port(port_of(emulator.wait_for_line("ocean-port-emulator listening on", 10s))),
          sample(required_env("OCEAN_SAMPLE_EMBEDDED"), {},
                 {"OCEAN__PORT__BASE_URL=http://127.0.0.1:" + std::to_string(emulator_port),
                  "OCEAN__PORT__CLIENT_ID=local-client-id", "OCEAN__PORT__CLIENT_SECRET=local-client-secret",
                  "OCEAN__INTEGRATION__IDENTIFIER=embedded-test", "OCEAN__INTEGRATION__TYPE=embedded",
                  "OCEAN__RESOURCES_PATH=" + required_env("OCEAN_SOURCE_DIR") + "/samples/embedded/.port/resources",
                  "APPLICATION__HOST=127.0.0.1", "APPLICATION__PORT=0"}),
          http_port(port_of(sample.wait_for_line("ocean-sample-embedded listening on", 10s))),
          line_port(port_of(sample.wait_for_line("ocean-sample-embedded line service on", 10s))),
          threads_line(sample.wait_for_line("ocean-sample-embedded threads:", 30s))
    {
    }

    child_process emulator;
    std::uint16_t emulator_port;
    child_process sample;
    std::uint16_t http_port;
    std::uint16_t line_port;
    std::string threads_line;
};

} // namespace

BOOST_AUTO_TEST_CASE(embedded_serves_its_protocol_and_resyncs)
{
    embedded_fixture f;

    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), f.line_port});
    BOOST_TEST(ask(socket, "echo hello from the test") == "hello from the test");
    BOOST_TEST(ask(socket, "time").size() == 20U);
    BOOST_TEST(ask(socket, "stats").starts_with("connections=1 "));

    // The integration shares the loop: its health route and its resync work meanwhile.
    http_call_options options;
    options.target = "/health/ready";
    BOOST_TEST(http_call("127.0.0.1", f.http_port, options).status == 200U);
    options.target = "/_emulator/entities?blueprint=embeddedService";
    auto const entities = http_call("127.0.0.1", f.emulator_port, options).json();
    BOOST_REQUIRE_EQUAL(entities.as_array().size(), 1U);
    BOOST_TEST(entities.as_array()[0].at("properties").at("port").to_number<std::int64_t>() == f.line_port);

    BOOST_TEST(f.sample.terminate() == 0);
}

// The sample talks to Port at 127.0.0.1: the HTTP client resolves IP literals without Asio's
// resolver thread, so the process keeps its one thread.
BOOST_AUTO_TEST_CASE(embedded_starts_no_thread)
{
    embedded_fixture f;
    auto const [before, after] = thread_counts(f.threads_line);
    BOOST_TEST_MESSAGE("threads of the embedded sample: " << f.threads_line << ", now " << tasks_of(f.sample.pid()));
    BOOST_TEST(before == 1);
    BOOST_TEST(after == before);
    BOOST_TEST(tasks_of(f.sample.pid()) == static_cast<std::size_t>(before));

    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), f.line_port});
    BOOST_TEST(ask(socket, "threads") == std::to_string(tasks_of(f.sample.pid())));
    BOOST_TEST(f.sample.terminate() == 0);
}
