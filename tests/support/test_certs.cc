#include "support/test_certs.h"

#include <stdexcept>
#include <vector>

#include "support/process.h"

namespace warden::test {

TestCerts::TestCerts() : dir_("warden-certs") {
  MakeCa("ca");
  MakeCa("other-ca");
  MakeSigned("server", "subjectAltName=IP:127.0.0.1,DNS:localhost");
  MakeSigned("client", "extendedKeyUsage=clientAuth");
}

void TestCerts::Openssl(const std::vector<std::string>& args) const {
  ProcessOptions options;
  options.argv = {"openssl"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.cwd = dir_.path();
  RunResult r = Run(options, std::nullopt, std::chrono::seconds(30));
  if (r.exit_code != 0) {
    throw std::runtime_error("openssl " + args.front() + " failed: " + r.out + r.err);
  }
}

void TestCerts::MakeCa(const std::string& name) const {
  Openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
           "/CN=Warden test " + name, "-keyout", name + ".key", "-out", name + ".crt"});
}

void TestCerts::MakeSigned(const std::string& name, const std::string& extension) const {
  Openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key",
           "-out", name + ".csr"});
  dir_.Write(name + ".ext", extension + "\n");
  Openssl({"x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
           "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt"});
}

}  // namespace warden::test
