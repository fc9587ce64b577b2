// The module over TLS end to end: Debian's nginx with our module against a TLS-only
// redis-server (plain TCP off, a CA made here), the real `warden` CLI making the changes over
// TLS too. A ban reaches the node, an exact limit is decided by Redis; a wrong CA, a wrong
// password or a missing client certificate are one clear line in the error log (never the
// password) while requests are served as without Redis; bad TLS files fail `nginx -t` with the
// line and the reason.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_server.h"
#include "support/test_certs.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecret = "Tls-s3cret-Pa55";

class TlsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = std::make_unique<TestCerts>();
    redis_ = std::make_unique<RedisServer>(RedisServer::Options{
        .password = kSecret,
        .tls = RedisServer::Tls{certs_->ca(), certs_->server_cert(), certs_->server_key()}});
  }
  static void TearDownTestSuite() {
    redis_.reset();
    certs_.reset();
  }
  void SetUp() override { redis_->Command({"FLUSHALL"}); }

  // The node: the blacklist on "/", an exact limit (1r/m, burst 2) on "/open/", metrics.
  static NginxServer::Options Node(const std::string& redis_line) {
    NginxServer::Options o;
    o.http = redis_line + "\n" +
             "warden_blacklist_zone 1m;\n"
             "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=exact;\n"
             "server {\n"
             "  listen 127.0.0.1:@PORT@;\n"
             "  warden on;\n"
             "  location / { root @DIR@/html; }\n"
             "  location /open/ { warden_limit zone=api burst=2 nodelay; root @DIR@/html; }\n"
             "  location = /warden/metrics { warden off; warden_status; }\n"
             "}\n";
    return o;
  }

  static std::string Port() { return std::to_string(redis_->port()); }

  // What the CLI is given: the same server over TLS.
  static std::string CliUrl() {
    return "rediss://:" + std::string(kSecret) + "@127.0.0.1:" + Port() +
           "/0?tls_ca=" + certs_->ca();
  }

  static void Ban(const std::string& entry) {
    RunResult r = RunWarden({.args = {"ban", entry}, .redis = CliUrl()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static long long Metric(const NginxServer& nginx, const std::string& name) {
    std::smatch m;
    std::string body = nginx.Get("/warden/metrics").body;
    if (!std::regex_search(body, m, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
    return std::stoll(m[1]);
  }

  // Script loads Redis ran: each exact-limit connection loads its script once connected.
  static long long ScriptLoads() {
    // Redis 7 counts the subcommand; Redis 6 only "script".
    const long long loads = redis_->CommandCalls("script|load");
    return loads > 0 ? loads : redis_->CommandCalls("script");
  }

  // The error log's lines that contain `text`.
  static std::vector<std::string> LogLines(const NginxServer& nginx, const std::string& text) {
    std::vector<std::string> found;
    std::istringstream in(nginx.ErrorLog());
    for (std::string line; std::getline(in, line);) {
      if (line.find(text) != std::string::npos) found.push_back(line);
    }
    return found;
  }

  static inline std::unique_ptr<TestCerts> certs_;
  static inline std::unique_ptr<RedisServer> redis_;
};

TEST_F(TlsIntegrationTest, ABanAndAnExactLimitGoThroughTls) {
  NginxServer nginx(Node("warden_redis rediss://127.0.0.1:" + Port() + " tls_ca=" + certs_->ca() +
                         " password=" + kSecret + " timeout=500ms;"));
  // Both workers' exact-limit connections are up (each loaded its script over TLS).
  ASSERT_TRUE(PollUntil([] { return ScriptLoads() >= 2; }, 5s)) << nginx.ErrorLog();

  // The exact limit: Redis decides (its bucket holds the count, no request was decided by the
  // node alone), the first request and the burst pass.
  EXPECT_EQ(nginx.Get("/open/").status, 200);
  EXPECT_EQ(nginx.Get("/open/").status, 200);
  EXPECT_EQ(nginx.Get("/open/").status, 200);
  EXPECT_EQ(nginx.Get("/open/").status, 429);
  EXPECT_TRUE(redis_->Command({"EXISTS", "warden:rl:api:7f000001"}).integer == 1)
      << "the bucket is in Redis";
  EXPECT_EQ(Metric(nginx, "warden_limit_exact_local_total"), 0) << nginx.ErrorLog();

  // A ban made in Redis (by the CLI, over TLS) reaches the node through the blacklist follower.
  EXPECT_EQ(nginx.Get("/").status, 200);
  Ban("127.0.0.1");
  EXPECT_TRUE(PollUntil([&] { return nginx.Get("/").status == 403; }, 2000ms, 5ms))
      << nginx.ErrorLog();
  EXPECT_EQ(Metric(nginx, "warden_redis_errors_total"), 0) << nginx.ErrorLog();
  EXPECT_TRUE(LogLines(nginx, "cannot connect to redis").empty()) << nginx.ErrorLog();
  EXPECT_TRUE(LogLines(nginx, "lost the redis connection").empty()) << nginx.ErrorLog();
}

// Every connection over TLS: the Sentinel's queries and its +switch-master subscription, and
// the primary it names (checked by that address, which the certificate carries).
TEST_F(TlsIntegrationTest, ASentinelAndThePrimaryItNamesOverTls) {
  RedisServer sentinel(RedisServer::Options{
      .sentinel =
          RedisServer::Sentinel{.master_port = redis_->port(), .quorum = 1, .auth_pass = kSecret},
      .tls = RedisServer::Tls{certs_->ca(), certs_->server_cert(), certs_->server_key()}});
  NginxServer nginx(Node("warden_redis sentinel://127.0.0.1:" + std::to_string(sentinel.port()) +
                         "/mymaster tls=on tls_ca=" + certs_->ca() + " password=" + kSecret +
                         " timeout=500ms;"));
  EXPECT_EQ(nginx.Get("/").status, 200);
  Ban("127.0.0.1");
  EXPECT_TRUE(PollUntil([&] { return nginx.Get("/").status == 403; }, 3000ms, 5ms))
      << nginx.ErrorLog();
  std::string metrics = nginx.Get("/warden/metrics").body;
  EXPECT_NE(metrics.find("warden_redis_primary_info{address=\"127.0.0.1:" + Port() + "\"} 1"),
            std::string::npos)
      << metrics;
  // The subscription is up too: a TLS client (not the plain unix socket's) subscribed, to
  // +switch-master and the three events of a failover under way.
  EXPECT_TRUE(PollUntil(
      [&] {
        std::string clients = sentinel.Command({"CLIENT", "LIST"}).str;
        return clients.find("addr=127.0.0.1:") != std::string::npos &&
               clients.find(" sub=4 ") != std::string::npos;
      },
      3000ms))
      << sentinel.Command({"CLIENT", "LIST"}).str;
  EXPECT_TRUE(LogLines(nginx, "TLS").empty()) << nginx.ErrorLog();
}

TEST_F(TlsIntegrationTest, AClientCertificateIsPresentedWhenTheServerAsksForOne) {
  RedisServer strict(RedisServer::Options{
      .password = kSecret,
      .tls = RedisServer::Tls{certs_->ca(), certs_->server_cert(), certs_->server_key(),
                              /*auth_clients=*/true}});
  const std::string base = "warden_redis rediss://:" + std::string(kSecret) +
                           "@localhost:" + std::to_string(strict.port()) +
                           " tls_ca=" + certs_->ca();
  {
    // Checked by its name as configured (localhost), with a client certificate.
    NginxServer nginx(Node(base + " tls_cert=" + certs_->client_cert() +
                           " tls_key=" + certs_->client_key() + ";"));
    RunResult r = RunWarden(
        {.args = {"ban", "127.0.0.1"},
         .redis = "rediss://:" + std::string(kSecret) +
                  "@127.0.0.1:" + std::to_string(strict.port()) + "/0?tls_ca=" + certs_->ca() +
                  "&tls_cert=" + certs_->client_cert() + "&tls_key=" + certs_->client_key()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(PollUntil([&] { return nginx.Get("/").status == 403; }, 2000ms, 5ms))
        << nginx.ErrorLog();
  }
  // Without it the server ends the session: one line says what TLS reported. Under TLS 1.3 the
  // server refuses after the client's handshake is done: when the client reads the refusal
  // first, the line says "certificate required"; when the server's close comes first (it resets
  // the connection over the client's first command, unread, and the kernel drops the alert),
  // the line says the connection was lost. Seen both ways (the second under ASan).
  NginxServer nginx(Node(base + ";"));
  EXPECT_EQ(nginx.Get("/").status, 200);
  auto refused = [&] {
    std::vector<std::string> lines = LogLines(nginx, "certificate required");
    for (std::string& line : LogLines(nginx, "lost the redis connection")) lines.push_back(line);
    return lines;
  };
  EXPECT_TRUE(PollUntil([&] { return !refused().empty(); }, 3000ms)) << nginx.ErrorLog();
  for (const std::string& line : refused()) {
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
  }
}

TEST_F(TlsIntegrationTest, AnUnknownCaIsOneClearLineAndRequestsAreServed) {
  NginxServer nginx(Node("warden_redis rediss://127.0.0.1:" + Port() + " tls_ca=" +
                         certs_->other_ca() + " password=" + kSecret + " timeout=300ms;"));
  EXPECT_EQ(nginx.Get("/").status, 200);
  ASSERT_TRUE(PollUntil([&] { return !LogLines(nginx, "not accepted").empty(); }, 3000ms))
      << nginx.ErrorLog();
  for (const std::string& line : LogLines(nginx, "not accepted")) {
    EXPECT_NE(line.find("cannot connect to redis 127.0.0.1:" + Port() +
                        ": TLS: the server's certificate was not accepted: "),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("(check tls_ca)"), std::string::npos) << line;
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
  }
  // Fail-open as without Redis: the blacklist from shared memory, the exact limit by the node.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(nginx.Get("/open/").status, 200);
  EXPECT_EQ(nginx.Get("/open/").status, 429);
  EXPECT_GT(Metric(nginx, "warden_limit_exact_local_total"), 0);
  EXPECT_EQ(nginx.ErrorLog().find(kSecret), std::string::npos);
}

TEST_F(TlsIntegrationTest, AWrongPasswordIsOneClearLineWithoutThePassword) {
  const std::string wrong = "Not-" + std::string(kSecret);
  NginxServer nginx(Node("warden_redis rediss://127.0.0.1:" + Port() + " tls_ca=" + certs_->ca() +
                         " password=" + wrong + " timeout=300ms;"));
  EXPECT_EQ(nginx.Get("/").status, 200);
  ASSERT_TRUE(PollUntil([&] { return !LogLines(nginx, "AUTH failed").empty(); }, 3000ms))
      << nginx.ErrorLog();
  for (const std::string& line : LogLines(nginx, "AUTH failed")) {
    EXPECT_NE(line.find("WRONGPASS"), std::string::npos) << line;
  }
  EXPECT_EQ(nginx.ErrorLog().find(wrong), std::string::npos) << nginx.ErrorLog();
  EXPECT_EQ(nginx.ErrorLog().find(kSecret), std::string::npos);
  EXPECT_EQ(nginx.Get("/").status, 200);
}

TEST_F(TlsIntegrationTest, BadTlsFilesFailConfigTestWithLineAndReason) {
  struct Case {
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"tls_ca=/nonexistent/ca.crt", "cannot read the CA file (tls_ca) /nonexistent/ca.crt"},
      // Not a certificate at all.
      {"tls_ca=/etc/passwd", "cannot read the CA file (tls_ca) /etc/passwd"},
      {"tls_ca=" + certs_->ca() + " tls_cert=/nonexistent/c.crt tls_key=" + certs_->client_key(),
       "cannot read the client certificate (tls_cert) /nonexistent/c.crt"},
      // A key that is not the certificate's.
      {"tls_ca=" + certs_->ca() + " tls_cert=" + certs_->client_cert() +
           " tls_key=" + certs_->server_key(),
       "cannot use the client key (tls_key)"},
      {"tls_ca=" + certs_->ca() + " tls_cert=" + certs_->client_cert(),
       "tls_cert and tls_key go together"},
  };
  for (const Case& c : cases) {
    NginxServer::Options o;
    o.http = "warden_redis rediss://127.0.0.1:6379 password=topsecret " + c.args +
             ";\nserver { listen 127.0.0.1:@PORT@; location / { root @DIR@/html; } }\n";
    RunResult r = NginxServer::Test(o);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << "line missing: " << r.err;
    EXPECT_EQ(r.err.find("topsecret"), std::string::npos) << "a secret in an error: " << r.err;
  }
  NginxServer::Options good;
  good.http = "warden_redis rediss://127.0.0.1:6379 password=topsecret tls_ca=" + certs_->ca() +
              " tls_cert=" + certs_->client_cert() + " tls_key=" + certs_->client_key() +
              " tls_server_name=redis.internal;\n"
              "server { listen 127.0.0.1:@PORT@; location / { root @DIR@/html; } }\n";
  RunResult ok = NginxServer::Test(good);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace warden::test
