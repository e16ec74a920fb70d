#include "common/self_signed_cert.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ocean::test {

self_signed_cert::self_signed_cert()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "ocean-test-cert-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("cannot create a temporary directory from " + pattern);
    directory_ = pattern;

    // The subjectAltName lets host name verification pass for both ways tests address the peer.
    std::string const command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
                                " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
                                " -keyout '" + (directory_ / "key.pem").string() + "'"
                                " -out '" + certificate_path() + "' > '" + (directory_ / "openssl.log").string() +
                                "' 2>&1";
    if (std::system(command.c_str()) != 0)
        throw std::runtime_error("openssl failed to create a self-signed certificate; see " +
                                 (directory_ / "openssl.log").string());
}

self_signed_cert::~self_signed_cert()
{
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
}

tls_files self_signed_cert::files() const
{
    return {certificate_path(), (directory_ / "key.pem").string()};
}

std::string self_signed_cert::certificate_path() const
{
    return (directory_ / "cert.pem").string();
}

} // namespace ocean::test
