// ocean-port-emulator: a local stand-in for Port's REST API, for the demo and integration tests.
#include "emulator.hpp"

#include <ocean/error.hpp>
#include <ocean/http/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/prctl.h>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
using ocean::emulator::emulator_options;

constexpr std::string_view usage = R"(Usage: ocean-port-emulator [OPTIONS]

Serves the part of Port's REST API that ocean-cpp uses, on one address, with Port's limits.
When ready it prints one line to stdout: "ocean-port-emulator listening on http://HOST:PORT"
(https:// with --tls-cert and --tls-key).
Logs go to stderr. SIGINT or SIGTERM stops it (exit status 0).

Options:
  --listen HOST:PORT        address to listen on (default 127.0.0.1:5555; port 0 picks a free port)
  --client-id ID            accepted client id (default local-client-id)
  --client-secret SECRET    accepted client secret (default local-client-secret)
  --token-ttl SECONDS       lifetime of access tokens (default 10800)
  --state FILE              keep entities, blueprints and integrations in FILE across restarts
  --rate-limit N/SECONDS    answer 429 past N requests per window of SECONDS on /v1
  --strict-blueprints       reject entities of blueprints that were not created (404)
  --tls-cert FILE           serve HTTPS with this PEM certificate (chain); needs --tls-key
  --tls-key FILE            the certificate's unencrypted PEM private key; needs --tls-cert
  --log-level LEVEL         trace, debug, info, warn, error or off (default info)
  --exit-with-parent        stop (as on SIGTERM) when the process that started it exits (Linux)
  --help                    print this help and exit

Inspection and fault injection (no authentication): GET /_emulator/entities?blueprint=B,
GET /_emulator/integrations, GET /_emulator/blueprints, GET /_emulator/requests,
GET|POST|DELETE /_emulator/faults, POST /_emulator/reset, POST /_emulator/resync-request.
)";

struct arguments {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5555;
    emulator_options options;
    ocean::http::tls_config tls;
    spdlog::level::level_enum log_level = spdlog::level::info;
    bool help = false;
    bool exit_with_parent = false;
};

class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::optional<long long> parse_integer(std::string_view text)
{
    long long value = 0;
    auto const [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

void parse_listen(std::string_view value, arguments& out)
{
    auto const colon = value.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        throw usage_error("invalid --listen '" + std::string(value) + "': expected HOST:PORT, e.g. 127.0.0.1:5555");
    auto host = value.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    auto const port = parse_integer(value.substr(colon + 1));
    if (!port || *port < 0 || *port > 65535)
        throw usage_error("invalid port in --listen '" + std::string(value) + "': expected 0 to 65535");

    boost::system::error_code ec;
    std::string const address = host == "localhost" ? "127.0.0.1" : std::string(host);
    (void)asio::ip::make_address(address, ec);
    if (ec)
        throw usage_error("invalid host in --listen '" + std::string(value) + "': expected an IP address or localhost");
    out.host = address;
    out.port = static_cast<std::uint16_t>(*port);
}

arguments parse_arguments(int argc, char** argv)
{
    arguments out;
    std::vector<std::string_view> const args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view name = args[i];
        std::optional<std::string_view> inline_value;
        if (auto const equals = name.find('='); name.starts_with("--") && equals != std::string_view::npos) {
            inline_value = name.substr(equals + 1);
            name = name.substr(0, equals);
        }
        auto value = [&]() -> std::string_view {
            if (inline_value)
                return *inline_value;
            if (i + 1 >= args.size())
                throw usage_error("option " + std::string(name) + " needs a value; see --help");
            return args[++i];
        };

        if (name == "--help" || name == "-h") {
            out.help = true;
        } else if (name == "--listen") {
            parse_listen(value(), out);
        } else if (name == "--client-id") {
            out.options.catalog.client_id = std::string(value());
            if (out.options.catalog.client_id.empty())
                throw usage_error("--client-id must not be empty");
        } else if (name == "--client-secret") {
            out.options.catalog.client_secret = std::string(value());
            if (out.options.catalog.client_secret.empty())
                throw usage_error("--client-secret must not be empty");
        } else if (name == "--token-ttl") {
            auto const text = value();
            auto const seconds = parse_integer(text);
            if (!seconds || *seconds <= 0)
                throw usage_error("invalid --token-ttl '" + std::string(text) + "': expected a positive number of seconds");
            out.options.catalog.token_ttl = std::chrono::seconds(*seconds);
        } else if (name == "--state") {
            auto const text = value();
            if (text.empty())
                throw usage_error("--state needs a file path");
            out.options.state_file = std::string(text);
        } else if (name == "--rate-limit") {
            auto const text = value();
            out.options.limit = ocean::emulator::parse_rate_limit(text);
            if (!out.options.limit)
                throw usage_error("invalid --rate-limit '" + std::string(text) +
                                  "': expected N/SECONDS with positive integers, e.g. 100/60");
        } else if (name == "--strict-blueprints") {
            out.options.catalog.strict_blueprints = true;
        } else if (name == "--log-level") {
            auto const text = std::string(value());
            out.log_level = spdlog::level::from_str(text);
            if (out.log_level == spdlog::level::off && text != "off")
                throw usage_error("invalid --log-level '" + text + "': expected trace, debug, info, warn, error or off");
        } else if (name == "--exit-with-parent") {
            out.exit_with_parent = true;
        } else if (name == "--tls-cert") {
            out.tls.cert_file = std::string(value());
            if (out.tls.cert_file.empty())
                throw usage_error("--tls-cert needs a file path");
        } else if (name == "--tls-key") {
            out.tls.key_file = std::string(value());
            if (out.tls.key_file.empty())
                throw usage_error("--tls-key needs a file path");
        } else {
            throw usage_error("unknown option '" + std::string(args[i]) + "'; see --help");
        }
    }
    if (out.tls.cert_file.empty() != out.tls.key_file.empty())
        throw usage_error(out.tls.cert_file.empty() ? "--tls-key needs --tls-cert as well"
                                                    : "--tls-cert needs --tls-key as well");
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    // stdout carries only the ready line, so the log goes to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("ocean-port-emulator"));

    arguments args;
    try {
        args = parse_arguments(argc, argv);
    } catch (usage_error const& e) {
        std::cerr << "ocean-port-emulator: " << e.what() << '\n';
        return 2;
    }
    if (args.help) {
        std::cout << usage;
        return 0;
    }
    spdlog::set_level(args.log_level);

    // A test that crashes must not leave its emulator running: the kernel sends SIGTERM when the
    // parent exits. The getppid() check covers a parent that exited before prctl() ran.
    if (args.exit_with_parent) {
        auto const parent = ::getppid();
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent || parent == 1) {
            spdlog::error("the parent process exited before start-up finished; stopping");
            return 1;
        }
    }

    ocean::emulator::emulator emulator(args.options);
    try {
        emulator.load_state();
    } catch (std::exception const& e) {
        spdlog::error("{}", e.what());
        return 1;
    }

    asio::io_context io;
    ocean::http::server_config config;
    config.host = args.host;
    config.port = args.port;
    // Above Port's 1 MiB, so the emulator itself rejects oversized bodies in Port's error shape.
    config.body_limit = 4 * ocean::emulator::max_body_bytes;
    config.drain_timeout = std::chrono::milliseconds(2000);
    config.tls = args.tls;
    std::optional<ocean::http::server> server_storage;
    try {
        server_storage.emplace(io.get_executor(), config);
    } catch (ocean::config_error const& e) {
        spdlog::error("cannot serve HTTPS with --tls-cert and --tls-key: {}", e.what());
        return 1;
    }
    auto& server = *server_storage;
    emulator.add_routes(server.router());

    if (auto const ec = server.listen()) {
        spdlog::error("cannot listen on {}:{}: {}", args.host, args.port, ec.message());
        return 1;
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (ec)
            return;
        spdlog::info("signal {} received; stopping", signal);
        server.stop();
    });

    bool failed = false;
    server.async_run([&](boost::system::error_code ec) {
        if (ec) {
            spdlog::error("server stopped with an error: {}", ec.message());
            failed = true;
        }
        signals.cancel();
    });

    auto const endpoint = server.local_endpoint();
    auto const address = endpoint.address();
    auto const host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    server.set_ready(true);
    auto const scheme = args.tls.cert_file.empty() ? "http" : "https";
    std::cout << "ocean-port-emulator listening on " << scheme << "://" << host << ":" << endpoint.port()
              << std::endl;

    io.run();

    if (!emulator.save_state())
        failed = true;
    spdlog::info("stopped");
    return failed ? 1 : 0;
}
