// ocean::port::client against ocean-port-emulator serving HTTPS with a self-signed certificate.
#define BOOST_TEST_MODULE port_tls
#include <boost/test/unit_test.hpp>

#include "common/child_process.hpp"
#include "common/http_call.hpp"
#include "common/self_signed_cert.hpp"

#include <ocean/port/client.hpp>

#include <boost/asio.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/json.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace port = ocean::port;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view ready_prefix = "ocean-port-emulator listening on https://127.0.0.1:";

std::string emulator_path()
{
    char const* path = std::getenv("OCEAN_PORT_EMULATOR");
    if (path == nullptr || *path == '\0')
        throw std::runtime_error("OCEAN_PORT_EMULATOR is not set; run this test through ctest");
    return path;
}

// One emulator process serving HTTPS on a free loopback port, killed when the test ends.
struct tls_emulator {
    ocean::test::self_signed_cert cert;
    ocean::test::child_process process;
    std::uint16_t port = 0;

    tls_emulator()
        : process(emulator_path(), {"--listen", "127.0.0.1:0", "--log-level", "warn", "--exit-with-parent",
                                    "--tls-cert", cert.files().certificate, "--tls-key", cert.files().private_key})
    {
        auto const line = process.wait_for_line("ocean-port-emulator listening on ", 10s);
        BOOST_TEST_REQUIRE(line.starts_with(ready_prefix), line);
        port = static_cast<std::uint16_t>(std::stoi(line.substr(ready_prefix.size())));
    }

    std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port); }
};

port::client_config client_config_for(tls_emulator const& server)
{
    port::client_config config;
    config.base_url = server.base_url();
    config.client_id = "local-client-id";
    config.client_secret = "local-client-secret";
    config.integration_type = "test-type";
    config.integration_identifier = "tls-integration";
    config.http.retry.initial_delay = 50ms;
    config.http.retry.max_delay = 1s;
    config.http.retry.total_budget = 10s;
    return config;
}

std::vector<port::entity> make_entities(std::size_t count)
{
    std::vector<port::entity> out;
    for (std::size_t i = 0; i < count; ++i) {
        port::entity e;
        e.blueprint = "service";
        e.identifier = "svc-" + std::to_string(i);
        e.title = "Service " + std::to_string(i);
        out.push_back(std::move(e));
    }
    return out;
}

// Upserts `entities` with a client built from `config` and returns the outcome; the whole call is
// bounded by 60 s of the io_context.
std::pair<error_code, port::write_result> upsert(port::client_config config, std::vector<port::entity> entities)
{
    asio::io_context io;
    port::client client(io.get_executor(), std::move(config));
    std::pair<error_code, port::write_result> outcome;
    bool done = false;
    client.async_upsert_entities(std::move(entities), port::upsert_options{},
                                 [&](error_code ec, port::write_result result) {
                                     outcome = {ec, std::move(result)};
                                     done = true;
                                 });
    io.run_for(60s);
    BOOST_TEST_REQUIRE(done, "the upsert did not complete in 60 s");
    return outcome;
}

bool is_certificate_verify_failure(error_code const& ec)
{
    return ec.category() == asio::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

// Sets an environment variable for the lifetime of the object, then restores the old value.
class scoped_environment {
public:
    scoped_environment(char const* name, std::string const& value) : name_(name)
    {
        if (char const* old = std::getenv(name))
            old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_environment()
    {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    scoped_environment(scoped_environment const&) = delete;
    scoped_environment& operator=(scoped_environment const&) = delete;

private:
    char const* name_;
    std::optional<std::string> old_;
};

} // namespace

BOOST_AUTO_TEST_CASE(https_untrusted_certificate_fails)
{
    tls_emulator server;

    auto const [ec, result] = upsert(client_config_for(server), make_entities(3));

    BOOST_TEST(ec.failed());
    BOOST_TEST(is_certificate_verify_failure(ec), ec.category().name() << ": " << ec.message());
    BOOST_TEST(ec.message().find("certificate verify failed") != std::string::npos, ec.message());
    BOOST_TEST(result.succeeded == 0u);
}

BOOST_AUTO_TEST_CASE(https_trusted_by_ca_file)
{
    tls_emulator server;
    auto config = client_config_for(server);
    config.http.ca_file = server.cert.certificate_path();

    auto const [ec, result] = upsert(config, make_entities(30));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 30u);
    BOOST_TEST(result.failures.empty());
    BOOST_TEST(result.pending.empty());
}

BOOST_AUTO_TEST_CASE(https_trusted_by_ssl_cert_file)
{
    tls_emulator server;
    // OpenSSL reads SSL_CERT_FILE when the client loads the default verify paths, at construction.
    scoped_environment trust("SSL_CERT_FILE", server.cert.certificate_path());

    auto const [ec, result] = upsert(client_config_for(server), make_entities(5));

    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 5u);
}

BOOST_AUTO_TEST_CASE(https_survives_plain_http_client)
{
    tls_emulator server;

    // A plain HTTP request to the HTTPS port fails its handshake and gets no HTTP response.
    ocean::test::http_call_options options;
    options.target = "/_emulator/entities?blueprint=service";
    options.timeout = 5s;
    BOOST_CHECK_THROW(ocean::test::http_call("127.0.0.1", server.port, options), boost::system::system_error);
    BOOST_TEST(server.process.running());

    auto config = client_config_for(server);
    config.http.ca_file = server.cert.certificate_path();
    auto const [ec, result] = upsert(config, make_entities(2));
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 2u);
}

BOOST_AUTO_TEST_CASE(https_survives_failed_handshakes)
{
    tls_emulator server;

    // Clients that reject the certificate abort the handshake, several times in a row.
    for (int i = 0; i < 3; ++i) {
        auto const [ec, result] = upsert(client_config_for(server), make_entities(1));
        BOOST_TEST(is_certificate_verify_failure(ec), ec.message());
    }
    BOOST_TEST(server.process.running());

    auto config = client_config_for(server);
    config.http.ca_file = server.cert.certificate_path();
    auto const [ec, result] = upsert(config, make_entities(4));
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(result.succeeded == 4u);
}
