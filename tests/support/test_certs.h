#pragma once

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace warden::test {

// A throwaway PKI for TLS tests, made with the openssl CLI in its own temporary directory: a CA,
// a server certificate it signed for 127.0.0.1 and localhost, a client certificate it signed,
// and a second, unrelated CA (to test a wrong tls_ca). PEM files; removed on destruction.
// Throws std::runtime_error (with openssl's output) if a step fails.
class TestCerts {
 public:
  TestCerts();

  std::string ca() const { return dir_.File("ca.crt"); }
  std::string server_cert() const { return dir_.File("server.crt"); }
  std::string server_key() const { return dir_.File("server.key"); }
  std::string client_cert() const { return dir_.File("client.crt"); }
  std::string client_key() const { return dir_.File("client.key"); }
  std::string other_ca() const { return dir_.File("other-ca.crt"); }

 private:
  void Openssl(const std::vector<std::string>& args) const;
  void MakeCa(const std::string& name) const;
  void MakeSigned(const std::string& name, const std::string& subject_alt_names) const;

  TempDir dir_;
};

}  // namespace warden::test
