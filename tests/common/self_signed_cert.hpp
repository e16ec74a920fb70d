// A throwaway self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI.
#pragma once

#include "common/fake_http_peer.hpp"

#include <filesystem>

namespace ocean::test {

/// A certificate and key in a fresh temporary directory, removed by the destructor.
class self_signed_cert {
public:
    /// Runs `openssl req -x509`; throws std::runtime_error when the command fails.
    self_signed_cert();
    ~self_signed_cert();
    self_signed_cert(self_signed_cert const&) = delete;
    self_signed_cert& operator=(self_signed_cert const&) = delete;

    /// Returns the PEM files for fake_http_peer.
    tls_files files() const;

    /// Returns the path of the certificate, which also serves as the CA bundle that trusts it.
    std::string certificate_path() const;

private:
    std::filesystem::path directory_;
};

} // namespace ocean::test
