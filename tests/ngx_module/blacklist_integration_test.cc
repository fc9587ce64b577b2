// The module end to end: Debian's nginx loading our module, a real redis-server, and the real
// `warden` CLI making the changes, as an operator would.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

class BlacklistIntegrationTest : public test::RedisSuite {
 protected:
  void SetUp() override { RedisSuite::SetUp(); }

  RunResult Warden(std::vector<std::string> args, const std::string& url = "",
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> all = extra;
    all.insert(all.end(), args.begin(), args.end());
    return RunWarden({.args = all, .redis = url.empty() ? redis_->url() : url});
  }

  void Ban(const std::vector<std::string>& args) {
    std::vector<std::string> full = {"ban"};
    full.insert(full.end(), args.begin(), args.end());
    auto r = Warden(full);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void Unban(const std::string& entry) {
    auto r = Warden({"unban", entry});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // A server on 127.0.0.1 and [::1] with Warden on, logging decisions.
  static NginxServer::Options Server(const std::string& server_extra = "",
                                     const std::string& http_extra = "",
                                     const std::string& redis_line = "") {
    NginxServer::Options o;
    o.http = (redis_line.empty()
                  ? "warden_redis 127.0.0.1:" + std::to_string(redis_->port()) + " timeout=300ms;\n"
                  : redis_line + "\n") +
             "warden_blacklist_zone 1m;\n"
             "warden_geoip @MMDB@;\n"
             "include @CONF@/warden-log-format.conf;\n"
             "access_log @DIR@/access.log warden_json;\n" +
             http_extra +
             "server {\n"
             "  listen 127.0.0.1:@PORT@;\n"
             "  listen [::1]:@PORT@;\n"
             "  warden on;\n" +
             server_extra +
             "  location / { root @DIR@/html; }\n"
             "  location /open/ { warden off; root @DIR@/html; }\n"
             "}\n";
    return o;
  }

  static bool StatusBecomes(const NginxServer& nginx, int status, const std::string& host,
                            std::chrono::milliseconds within) {
    return PollUntil([&] { return nginx.Get("/", {}, host).status == status; }, within, 2ms);
  }

  static std::vector<nlohmann::json> AccessLines(const NginxServer& nginx) {
    return JsonLines(nginx.AccessLog());
  }
};

TEST_F(BlacklistIntegrationTest, BanIsEnforcedWithinOneSecondAndUnbanLiftsIt) {
  NginxServer nginx(Server());
  ASSERT_EQ(nginx.Get("/").status, 200);
  Ban({"127.0.0.1", "--reason", "scanner"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms)) << nginx.ErrorLog();
  // Every worker shares the table: many connections, all refused.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(nginx.Get("/").status, 403);
  EXPECT_EQ(nginx.Get("/", {}, "::1").status, 200);
  EXPECT_EQ(nginx.Get("/open/").status, 200) << "warden off must not enforce";
  EXPECT_NE(nginx.ErrorLog().find("access forbidden by warden: blacklist 127.0.0.1 (manual)"),
            std::string::npos);

  Unban("127.0.0.1");
  EXPECT_TRUE(StatusBecomes(nginx, 200, "127.0.0.1", 1000ms));
}

TEST_F(BlacklistIntegrationTest, CidrRanges) {
  NginxServer nginx(Server());
  Ban({"127.0.0.0/8"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));
  EXPECT_EQ(nginx.Get("/", {}, "::1").status, 200);
  Ban({"::/120"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 1000ms));
}

TEST_F(BlacklistIntegrationTest, Ipv6Address) {
  NginxServer nginx(Server());
  Ban({"::1"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 1000ms));
  EXPECT_EQ(nginx.Get("/", {}, "127.0.0.1").status, 200);
  auto lines = AccessLines(nginx);
  ASSERT_FALSE(lines.empty());
  bool seen = false;
  for (auto& l : lines) {
    if (l["remote_addr"] == "::1" && l["warden_decision"] == "block") {
      EXPECT_EQ(l["warden_reason"], "blacklist ::1 (manual)");
      EXPECT_EQ(l["status"], "403");
      seen = true;
    }
  }
  EXPECT_TRUE(seen) << nginx.AccessLog();
}

TEST_F(BlacklistIntegrationTest, ExpiredBansStopMatching) {
  NginxServer nginx(Server());
  Ban({"127.0.0.1", "--ttl", "1s"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));
  EXPECT_TRUE(StatusBecomes(nginx, 200, "127.0.0.1", 3000ms));
}

TEST_F(BlacklistIntegrationTest, AllowListBeatsBan) {
  NginxServer nginx(Server("  warden_allow 127.0.0.0/8;\n"));
  Ban({"127.0.0.1"});
  Ban({"::1"});
  // The bans are applied in order: once ::1 is refused, 127.0.0.1's ban is loaded too.
  ASSERT_TRUE(StatusBecomes(nginx, 403, "::1", 1000ms));
  EXPECT_EQ(nginx.Get("/").status, 200);
  auto lines = AccessLines(nginx);
  EXPECT_EQ(lines.back()["warden_decision"], "allow");
  EXPECT_EQ(lines.back()["warden_reason"], "allowlist 127.0.0.0/8");
}

TEST_F(BlacklistIntegrationTest, CountryBlockWithTheRealDatabaseBehindRealip) {
  NginxServer nginx(
      Server("  warden_block_country US;\n"
             "  set_real_ip_from 127.0.0.1;\n"
             "  real_ip_header X-Forwarded-For;\n"));
  EXPECT_EQ(nginx.Get("/", {{"X-Forwarded-For", "8.8.8.8"}}).status, 403);
  EXPECT_EQ(nginx.Get("/", {{"X-Forwarded-For", "1.1.1.1"}}).status, 200);
  EXPECT_EQ(nginx.Get("/").status, 200) << "loopback has no country";
  auto lines = AccessLines(nginx);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["remote_addr"], "8.8.8.8");
  EXPECT_EQ(lines[0]["warden_country"], "US");
  EXPECT_EQ(lines[0]["warden_reason"], "country US");
  EXPECT_EQ(lines[1]["warden_country"], "AU");
  EXPECT_EQ(lines[1]["warden_decision"], "pass");
  EXPECT_EQ(lines[2]["warden_country"], "-");
}

TEST_F(BlacklistIntegrationTest, ANamedLocationWithOtherRulesJudgesTheRequestAgain) {
  // try_files to @app, which blocks a country the first location lets through (and @dry only
  // marks it): the request is judged again there, and its decision and reason are @app's.
  NginxServer nginx(
      Server("  set_real_ip_from 127.0.0.1;\n"
             "  real_ip_header X-Forwarded-For;\n"
             "  location /app/ { try_files /nonexistent @app; }\n"
             "  location @app { warden_block_country US; try_files /index.html =404; }\n"
             "  location /dry/ { try_files /nonexistent @dry; }\n"
             "  location @dry { warden_block_country US; warden_dry_run on;"
             " try_files /index.html =404; }\n"));
  EXPECT_EQ(nginx.Get("/app/", {{"X-Forwarded-For", "8.8.8.8"}}).status, 403);
  EXPECT_EQ(nginx.Get("/app/", {{"X-Forwarded-For", "1.1.1.1"}}).status, 200);
  EXPECT_EQ(nginx.Get("/dry/", {{"X-Forwarded-For", "8.8.8.8"}}).status, 200);
  auto lines = AccessLines(nginx);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["warden_decision"], "block");
  EXPECT_EQ(lines[0]["warden_reason"], "country US");
  EXPECT_EQ(lines[1]["warden_decision"], "pass");
  EXPECT_EQ(lines[1]["warden_reason"], "");
  EXPECT_EQ(lines[2]["warden_decision"], "dry_run");
  EXPECT_EQ(lines[2]["warden_reason"], "country US");
  EXPECT_NE(nginx.ErrorLog().find("access forbidden by warden: country US"), std::string::npos);
}

TEST_F(BlacklistIntegrationTest, SpoofedForwardedForFromUntrustedPeerIsIgnored) {
  // realip trusts only 10.0.0.0/8 here, so the loopback peer's header is not believed.
  NginxServer nginx(
      Server("  warden_block_country US;\n"
             "  set_real_ip_from 10.0.0.0/8;\n"
             "  real_ip_header X-Forwarded-For;\n"));
  Ban({"127.0.0.1"});
  ASSERT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));
  EXPECT_EQ(nginx.Get("/", {{"X-Forwarded-For", "1.1.1.1"}}).status, 403);
}

TEST_F(BlacklistIntegrationTest, DryRunLogsButServes) {
  NginxServer nginx(Server("  warden_dry_run on;\n"));
  Ban({"127.0.0.1"});
  const std::string line = "warden dry run, would forbid: blacklist 127.0.0.1 (manual)";
  ASSERT_TRUE(PollUntil(
      [&] {
        EXPECT_EQ(nginx.Get("/").status, 200);
        return nginx.ErrorLog().find(line) != std::string::npos;
      },
      1000ms));
  EXPECT_EQ(AccessLines(nginx).back()["warden_decision"], "dry_run");
}

TEST_F(BlacklistIntegrationTest, RedisDownKeepsServingTheLastListAndCatchesUp) {
  NginxServer nginx(Server());
  Ban({"127.0.0.1"});
  ASSERT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));

  redis_->Kill();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(nginx.Get("/").status, 403);
    ASSERT_EQ(nginx.Get("/", {}, "::1").status, 200);
  }
  EXPECT_TRUE(PollUntil(
      [&] { return nginx.ErrorLog().find("lost the redis connection") != std::string::npos; },
      2000ms))
      << nginx.ErrorLog();

  // Redis comes back empty (nothing persisted): the node follows it, then new bans apply.
  redis_->Restart();
  Ban({"::1"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 10000ms)) << nginx.ErrorLog();
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_NE(nginx.ErrorLog().find("is reachable again"), std::string::npos);
}

TEST_F(BlacklistIntegrationTest, SlowRedisDoesNotSlowRequests) {
  RedisServer::Options slow_options;
  slow_options.extra_args = {"--enable-debug-command", "yes"};
  RedisServer slow(slow_options);
  NginxServer nginx(
      Server("", "", "warden_redis 127.0.0.1:" + std::to_string(slow.port()) + " timeout=200ms;"));
  ASSERT_EQ(Warden({"ban", "127.0.0.1"}, slow.url()).exit_code, 0);
  ASSERT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));

  std::thread sleeper([&] { slow.Command({"DEBUG", "SLEEP", "2"}); });
  // While Redis sleeps, every request is answered from shared memory: none of them may run
  // into the HTTP client's timeout, all keep the last known verdict.
  int answered = 0;
  HttpReply wrong;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until && wrong.status == 0) {
    auto r = nginx.Get("/", {}, "127.0.0.1");
    if (r.status != 403) wrong = r;
    ++answered;
  }
  sleeper.join();
  EXPECT_EQ(wrong.status, 0) << "request " << answered << ": " << wrong.error << "\n"
                             << nginx.ErrorLog();
  EXPECT_GT(answered, 10);
  // After the stall the worker reconnects and follows new changes again.
  ASSERT_EQ(Warden({"ban", "::1"}, slow.url()).exit_code, 0);
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 10000ms)) << nginx.ErrorLog();
}

TEST_F(BlacklistIntegrationTest, ReloadKeepsBansEvenWithRedisDown) {
  NginxServer nginx(Server());
  Ban({"127.0.0.1"});
  ASSERT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));
  redis_->Kill();
  nginx.Reload();
  // The new workers start from the shared zone the old ones left, not from Redis.
  EXPECT_EQ(nginx.Get("/").status, 403);
  EXPECT_EQ(nginx.Get("/", {}, "::1").status, 200);
}

TEST_F(BlacklistIntegrationTest, ReloadResumesTheStreamWithoutFullReload) {
  NginxServer nginx(Server());
  Ban({"127.0.0.1"});
  ASSERT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));
  auto loads_before = [&] {
    size_t n = 0;
    std::string log = nginx.ErrorLog();
    for (size_t p = 0; (p = log.find("blacklist loaded from redis", p)) != std::string::npos; ++p) {
      ++n;
    }
    return n;
  };
  size_t before = loads_before();
  nginx.Reload();
  Ban({"::1"});
  ASSERT_TRUE(StatusBecomes(nginx, 403, "::1", 1000ms));
  EXPECT_EQ(loads_before(), before) << "a reload must continue the change stream\n"
                                    << nginx.ErrorLog();
}

TEST_F(BlacklistIntegrationTest, TwoNodesOnOneRedisBothEnforce) {
  NginxServer a(Server());
  NginxServer b(Server());
  Ban({"127.0.0.1"});
  EXPECT_TRUE(StatusBecomes(a, 403, "127.0.0.1", 1000ms));
  EXPECT_TRUE(StatusBecomes(b, 403, "127.0.0.1", 1000ms));
  Unban("127.0.0.1");
  EXPECT_TRUE(StatusBecomes(a, 200, "127.0.0.1", 1000ms));
  EXPECT_TRUE(StatusBecomes(b, 200, "127.0.0.1", 1000ms));
}

TEST_F(BlacklistIntegrationTest, MalformedEntriesInRedisAreLoggedAndSkipped) {
  redis_->Command({"HSET", "warden:bl:entries", "not-an-address", "v1\t0\t0\tmanual\tx\ty"});
  redis_->Command({"HSET", "warden:bl:entries", "192.0.2.1", "garbage"});
  Ban({"127.0.0.1"});
  NginxServer nginx(Server());
  EXPECT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms));
  EXPECT_TRUE(PollUntil(
      [&] { return nginx.ErrorLog().find("skipping malformed") != std::string::npos; }, 1000ms));
  // A malformed change in the stream is skipped too, and the following one still applies.
  redis_->Command(
      {"XADD", "warden:bl:log", "*", "seq", "2", "op", "add", "entry", "bogus", "value", "x"});
  redis_->Command({"SET", "warden:bl:seq", "2"});
  Ban({"::1"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 1000ms)) << nginx.ErrorLog();
  EXPECT_EQ(nginx.WorkerPids().size(), 2u) << "no worker may crash";
}

TEST_F(BlacklistIntegrationTest, AnEmptyRedisDoesNotUnbanTheFleetUntilTheOperatorSaysSo) {
  NginxServer nginx(Server("  location = /metrics { warden off; warden_status; }\n"));
  std::string list = "127.0.0.1\n";
  for (int i = 1; i < 200; ++i)
    list += "10.9." + std::to_string(i / 100) + "." + std::to_string(i % 100 + 1) + "\n";
  test::TempDir dir("warden-hold");
  const std::string file = dir.File("list.txt");
  WriteFile(file, list);
  Ban({"--file", file});
  ASSERT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 2000ms)) << nginx.ErrorLog();

  // Redis restarts without its data (nothing persisted): the node must keep its 200 bans.
  redis_->Kill();
  redis_->Restart();
  ASSERT_TRUE(PollUntil(
      [&] { return nginx.ErrorLog().find("keeping this node's list") != std::string::npos; },
      15000ms))
      << nginx.ErrorLog();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(nginx.Get("/").status, 403);
  EXPECT_NE(nginx.Get("/metrics").body.find("warden_blacklist_reload_held 1\n"), std::string::npos);
  // New changes still apply while the list is held.
  Ban({"::1"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 2000ms)) << nginx.ErrorLog();

  // The operator accepts Redis as it is: what only the node had goes, the new ban stays.
  RunResult accepted = Warden({"sync", "--accept-empty"});
  ASSERT_EQ(accepted.exit_code, 0) << Show(accepted);
  EXPECT_TRUE(StatusBecomes(nginx, 200, "127.0.0.1", 5000ms)) << nginx.ErrorLog();
  EXPECT_EQ(nginx.Get("/", {}, "::1").status, 403);
  EXPECT_NE(nginx.Get("/metrics").body.find("warden_blacklist_reload_held 0\n"), std::string::npos);
  EXPECT_NE(nginx.ErrorLog().find("the operator accepted"), std::string::npos);
}

TEST_F(BlacklistIntegrationTest, GapInTheChangeStreamLeadsToAFullReload) {
  NginxServer nginx(Server());
  Ban({"192.0.2.1"});
  ASSERT_TRUE(PollUntil(
      [&] { return nginx.ErrorLog().find("blacklist loaded") != std::string::npos; }, 1000ms));
  // A change the node never sees in the stream (as when it fell behind a trimmed log):
  // written to the hash directly, with a sequence number skipped.
  redis_->Command({"HSET", "warden:bl:entries", "127.0.0.1", "v1\t0\t0\tmanual\ttest\tlost"});
  redis_->Command({"INCR", "warden:bl:seq"});
  Ban({"::1"});
  EXPECT_TRUE(StatusBecomes(nginx, 403, "::1", 1000ms)) << nginx.ErrorLog();
  EXPECT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms)) << nginx.ErrorLog();
  EXPECT_NE(nginx.ErrorLog().find("gap in the blacklist change stream"), std::string::npos);
}

TEST_F(BlacklistIntegrationTest, UnixSocketPasswordDbAndPrefix) {
  RedisServer::Options options;
  options.password = "s3cret";
  RedisServer secured(options);
  NginxServer nginx(Server("", "",
                           "warden_redis unix:" + secured.socket_path() +
                               " password=s3cret db=2 prefix=edge: timeout=500ms;"));
  auto r = Warden({"ban", "127.0.0.1"}, "unix://" + secured.socket_path() + "?db=2&password=s3cret",
                  {"--prefix", "edge:"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(StatusBecomes(nginx, 403, "127.0.0.1", 1000ms)) << nginx.ErrorLog();
  EXPECT_EQ(secured.Command({"SELECT", "2"}).str, "OK");
}

TEST_F(BlacklistIntegrationTest, AclUserInTheAddressOrAsOptions) {
  RedisServer acl;
  ASSERT_FALSE(
      acl.Command({"ACL", "SETUSER", "edge", "on", ">s3cret", "~*", "&*", "+@all"}).is_error());
  ASSERT_FALSE(acl.Command({"ACL", "SETUSER", "default", "off"}).is_error());
  const std::string address = "127.0.0.1:" + std::to_string(acl.port());
  NginxServer by_options(
      Server("", "", "warden_redis " + address + " user=edge password=s3cret timeout=500ms;"));
  NginxServer by_url(Server("", "", "warden_redis redis://edge:s3cret@" + address + "/0;"));
  auto r = Warden({"ban", "127.0.0.1"}, "redis://edge:s3cret@" + address + "/0", {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(StatusBecomes(by_options, 403, "127.0.0.1", 2000ms)) << by_options.ErrorLog();
  EXPECT_TRUE(StatusBecomes(by_url, 403, "127.0.0.1", 2000ms)) << by_url.ErrorLog();

  // A wrong password for the user: logged (with the user, never the password), served.
  NginxServer wrong(Server("", "", "warden_redis " + address + " user=edge password=wr0ng;"));
  EXPECT_TRUE(PollUntil(
      [&] { return wrong.ErrorLog().find("AUTH as user edge failed") != std::string::npos; },
      2000ms))
      << wrong.ErrorLog();
  EXPECT_EQ(wrong.ErrorLog().find("wr0ng"), std::string::npos);
  EXPECT_EQ(wrong.Get("/").status, 200);
}

TEST_F(BlacklistIntegrationTest, WrongPasswordIsLoggedNotFatal) {
  RedisServer::Options options;
  options.password = "right";
  RedisServer secured(options);
  NginxServer nginx(Server(
      "", "", "warden_redis 127.0.0.1:" + std::to_string(secured.port()) + " password=wrong;"));
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_TRUE(
      PollUntil([&] { return nginx.ErrorLog().find("AUTH failed") != std::string::npos; }, 2000ms))
      << nginx.ErrorLog();
}

struct BadDirective {
  std::string http;
  std::string message;
};

TEST_F(BlacklistIntegrationTest, BadDirectivesFailConfigTestWithLineAndReason) {
  const std::string server = "server { listen 127.0.0.1:@PORT@; location / { root @DIR@; } }\n";
  std::vector<BadDirective> cases = {
      {"warden_allow 1.2.3.4/33;", "bad prefix length"},
      {"warden_allow nonsense;", "\"nonsense\" is not an IP address or CIDR range"},
      {"warden_allow 10.1.2.3/8;", "did you mean 10.0.0.0/8"},
      {"warden_block_country USA;", "invalid country code \"USA\""},
      {"warden_block_status 200;", "between 400 and 599"},
      {"warden_dry_run maybe;", "invalid value \"maybe\""},
      {"warden_redis 127.0.0.1:6379 bogus=1;", "invalid parameter \"bogus\""},
      {"warden_redis 127.0.0.1:6379 pasword=topsecret;", "invalid parameter \"pasword\""},
      {"warden_redis 127.0.0.1:6379 db=x;", "db must be a database number"},
      {"warden_redis 127.0.0.1:6379 timeout=soon;", "timeout must be from 1ms to 60s"},
      {"warden_redis 127.0.0.1:6379;\nwarden_redis 127.0.0.1:6380;", "is duplicate"},
      {"warden_redis unix:;", "a unix socket needs an absolute path"},
      {"warden_redis 127.0.0.1:6379 user=bob;", "an ACL user needs a password"},
      {"warden_redis 127.0.0.1:6379,127.0.0.1:6380;", "for several use sentinel://"},
      {"warden_redis sentinel://:topsecret@127.0.0.1:26379;", "needs the monitored master's name"},
      {"warden_redis sentinel://:topsecret@no-such-host.invalid:26379/mymaster;",
       "cannot resolve redis host \"no-such-host.invalid\""},
      {"warden_redis sentinel://127.0.0.1:26379/m password=topsecret tls=on "
       "tls_ca=/nonexistent/ca.crt;",
       "cannot read the CA file (tls_ca) /nonexistent/ca.crt"},
      {"warden_redis cluster://:topsecret@127.0.0.1:7000 db=1;",
       "Redis Cluster has only database 0"},
      {"warden_redis ftp://u:topsecret@127.0.0.1;", "expected host[:port]"},
      {"warden_geoip /nonexistent/country.mmdb;", "cannot open \"/nonexistent/country.mmdb\""},
      {"warden_geoip @MMDB@ lookup=;", "invalid parameter \"lookup=\""},
      {"warden_blacklist_zone 1k;", "too small"},
  };
  for (auto& c : cases) {
    NginxServer::Options o;
    o.http = c.http + "\n" + server;
    auto r = NginxServer::Test(o);
    EXPECT_NE(r.exit_code, 0) << c.http;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.http << "\n" << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << "line missing: " << r.err;
    EXPECT_EQ(r.err.find("topsecret"), std::string::npos) << "a secret in an error: " << r.err;
  }
  NginxServer::Options good;
  good.http =
      "warden_redis 127.0.0.1:6379 timeout=1s user=warden password=topsecret;\n"
      "warden_geoip @MMDB@ lookup=country_code;\n"
      "warden_allow 10.0.0.0/8 2001:db8::/32;\nwarden_block_country cn RU;\n" +
      server;
  auto ok = NginxServer::Test(good);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // Sentinels by address or by name (resolved now, once), with the data nodes' credentials.
  good.http =
      "warden_redis sentinel://warden:topsecret@127.0.0.1:26379,localhost:26380/mymaster?db=2 "
      "timeout=300ms prefix=w:;\n" +
      server;
  ok = NginxServer::Test(good);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.err.find("topsecret"), std::string::npos) << ok.err;
}

}  // namespace
}  // namespace warden::test
