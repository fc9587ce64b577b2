// HttpClient against real servers on loopback: a response over max_response fails the call, a
// redirect is not followed (to another host or anywhere), and a certificate that is not trusted
// fails clearly. The TLS server is openssl's own s_server with a self-signed certificate.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "net/http_client.h"
#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace warden {
namespace {

using namespace std::chrono_literals;

// A plain HTTP server for one test: /big (2 MiB), /moved (302 to another host), /target.
class LocalServer {
 public:
  LocalServer() {
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(2 << 20, 'x'), "text/plain");
    });
    server_.Get("/moved", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 302;
      res.set_header("Location", "http://127.0.0.1:" + std::to_string(port_) + "/target");
    });
    server_.Get("/target", [this](const httplib::Request&, httplib::Response& res) {
      ++target_hits_;
      res.set_content("followed", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int target_hits() const { return target_hits_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<int> target_hits_{0};
  std::thread thread_;
};

TEST(HttpClientIntegration, AResponseOverMaxResponseFailsTheCall) {
  LocalServer server;
  HttpClient http;
  HttpClient::Request request;
  request.url = server.Url("/big");
  request.max_response = 1 << 20;
  try {
    http.Send(request);
    FAIL() << "a 2 MiB body was accepted under a 1 MiB cap";
  } catch (const HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 1048576 bytes (max_response)"),
              std::string::npos)
        << e.what();
  }
  request.max_response = 4 << 20;
  EXPECT_EQ(http.Send(request).body.size(), size_t{2} << 20);
}

TEST(HttpClientIntegration, ARedirectIsTheAnswerNotFollowed) {
  LocalServer server;
  HttpClient http;
  HttpClient::Request request;
  request.url = server.Url("/moved");
  HttpResponse response = http.Send(request);
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(server.target_hits(), 0);
}

TEST(HttpClientIntegration, AnUntrustedCertificateFailsClearly) {
  test::TempDir dir("warden-tls");
  const std::string cert = dir.File("cert.pem"), key = dir.File("key.pem");
  test::RunResult made =
      test::Run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                 "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const int port = test::FreePort();
  test::ProcessOptions options;
  options.argv = {
      "openssl", "s_server", "-quiet", "-www", "-accept", "127.0.0.1:" + std::to_string(port),
      "-cert",   cert,       "-key",   key};
  test::Process server = test::Process::Start(options);
  HttpClient http;
  HttpClient::Request request;
  request.url = "https://127.0.0.1:" + std::to_string(port) + "/";
  request.connect_timeout_ms = 500;
  std::string error;
  ASSERT_TRUE(test::PollUntil(
      [&] {
        try {
          http.Send(request);
          error = "accepted";
          return true;
        } catch (const HttpError& e) {
          error = e.what();
          return error.find("cannot connect") == std::string::npos;  // not listening yet
        }
      },
      10s))
      << error;
  EXPECT_NE(error.find("TLS: the server's certificate is not trusted"), std::string::npos) << error;
}

}  // namespace
}  // namespace warden
