// Automatic bans end to end: two nginx nodes on one Redis, the real CLI to look at the list.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/redis_schema.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/server_suite.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

class AutobanIntegrationTest : public test::RedisSuite {
 protected:
  static NginxServer::Options Config(const std::string& autoban, const std::string& server = "") {
    NginxServer::Options o;
    o.http = "warden_redis 127.0.0.1:" + std::to_string(redis_->port()) + ";\n" +
             "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n" + autoban +
             "\nserver {\n  listen 127.0.0.1:@PORT@;\n  listen [::1]:@PORT@;\n  warden on;\n" +
             server + "  location / { warden_limit zone=api; root @DIR@/html; }\n}\n";
    return o;
  }

  nlohmann::json List() {
    auto r = RunWarden({.args = {"list", "--json"}, .redis = redis_->url()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
};

TEST_F(AutobanIntegrationTest, AnIpv6ClientRotatingInsideItsSlash64StaysBanned) {
  // Behind a proxy (realip): the clients' IPv6 addresses come in X-Forwarded-For.
  NginxServer nginx(Config("warden_autoban zone=api strikes=2 findtime=1m bantime=1h;",
                           "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"));
  auto from = [&](const std::string& addr) {
    return nginx.Get("/", {{"X-Forwarded-For", addr}}).status;
  };
  EXPECT_EQ(from("2001:db8:0:1::1"), 200);
  EXPECT_EQ(from("2001:db8:0:1::1"), 429);
  EXPECT_EQ(from("2001:db8:0:1::1"), 429);  // the second strike bans its /64
  EXPECT_EQ(from("2001:db8:0:1::1"), 403);
  EXPECT_EQ(from("2001:db8:0:1:abcd::7"), 403) << "a new address in the same /64";
  EXPECT_EQ(from("2001:db8:0:2::1"), 200) << "the next /64 is someone else";
  EXPECT_EQ(from("192.0.2.1"), 200);
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const auto& e : List()) {
          if (e.value("entry", "") == "2001:db8:0:1::/64") return true;
        }
        return false;
      },
      2s))
      << List().dump();
}

TEST_F(AutobanIntegrationTest, StrikesBanOnEveryNodeWithReason) {
  NginxServer a(Config("warden_autoban zone=api strikes=3 findtime=1m bantime=1h;"));
  // b would need 100 strikes of its own: a 403 there can only come from a's ban.
  NginxServer b(Config("warden_autoban zone=api strikes=100 findtime=1m bantime=1h;"));
  ASSERT_EQ(a.Get("/").status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(a.Get("/").status, 429) << i;
  // Banned on the node that counted the strikes at once, and on the other through Redis.
  EXPECT_EQ(a.Get("/").status, 403);
  EXPECT_TRUE(PollUntil([&] { return b.Get("/").status == 403; }, 1000ms)) << b.ErrorLog();
  EXPECT_EQ(b.Get("/", {}, "::1").status, 200);

  auto list = List();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["entry"], "127.0.0.1");
  EXPECT_EQ(list[0]["source"], "autoban");
  EXPECT_EQ(list[0]["reason"], "autoban: zone api, 3 strikes in 60s, ban #1");
  EXPECT_NE(a.ErrorLog().find("warden autoban: client banned after 3 strikes in zone \"api\""),
            std::string::npos);
}

TEST_F(AutobanIntegrationTest, RepeatBansGrowByTheFactorUpToMaxtime) {
  NginxServer nginx(
      Config("warden_autoban zone=api strikes=1 findtime=1m bantime=1s factor=3 "
             "maxtime=5s;"));
  auto ban_ms = [&] {
    auto v = redis_->Command({"HGET", "warden:bl:entries", "127.0.0.1"}).str;
    // v1 \t expires \t added \t ...
    size_t a = v.find('\t') + 1, b = v.find('\t', a), c = v.find('\t', b + 1);
    return std::stoll(v.substr(a, b - a)) - std::stoll(v.substr(b + 1, c - b - 1));
  };
  ASSERT_EQ(nginx.Get("/").status, 200);
  std::vector<long long> bans;
  for (int round = 1; round <= 3; ++round) {
    // Once the previous ban is over, the next refused request is a strike (strikes=1).
    ASSERT_TRUE(PollUntil([&] { return nginx.Get("/").status == 429; }, 10s)) << round;
    ASSERT_TRUE(PollUntil(
        [&] {
          auto v = redis_->Command({"HGET", "warden:bl:entries", "127.0.0.1"});
          return !v.is_nil() && v.str.find("ban #" + std::to_string(round)) != std::string::npos;
        },
        2000ms))
        << round;
    bans.push_back(ban_ms());
  }
  EXPECT_EQ(bans[0], 1000);
  EXPECT_EQ(bans[1], 3000);
  EXPECT_EQ(bans[2], 5000) << "capped by maxtime";
}

TEST_F(AutobanIntegrationTest, AllowedAddressesAreNeverBanned) {
  NginxServer nginx(Config("warden_autoban zone=api strikes=1 findtime=1m bantime=1h;",
                           "  warden_allow 127.0.0.1;\n"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(redis_->Command({"HLEN", "warden:bl:entries"}).integer, 0);
}

// `warden allow` (the console's Allow) reaches every node through the blacklist's stream: the
// address passes its network's ban, is never limited, and an automatic ban is not written over
// it; taken off, the network's ban holds for it again.
TEST_F(AutobanIntegrationTest, TheFleetsAllowListIsNeverBlockedLimitedOrBanned) {
  NginxServer nginx(Config("warden_autoban zone=api strikes=1 findtime=1m bantime=1h;",
                           "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"));
  auto from = [&](const std::string& addr) {
    return nginx.Get("/", {{"X-Forwarded-For", addr}}).status;
  };
  auto warden = [&](std::vector<std::string> args) {
    auto r = RunWarden({.args = std::move(args), .redis = redis_->url()});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
  };
  warden({"allow", "192.0.2.7", "--reason", "office"});
  warden({"ban", "192.0.2.0/24"});
  // Changes apply in order: once the /24 is refused, the allow entry is loaded too.
  ASSERT_TRUE(PollUntil([&] { return from("192.0.2.8") == 403; }, 2s)) << nginx.ErrorLog();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(from("192.0.2.7"), 200) << i;  // rate=1r/m, strikes=1

  // An automatic ban from any node does not overwrite the allow entry (nor count it).
  RedisSchema schema;
  auto reply =
      redis_->Command({"EVAL", RedisSchema::kAutobanScript, "6", schema.BlacklistEntries(),
                       schema.BlacklistExpiry(), schema.BlacklistSeq(), schema.BlacklistLog(),
                       schema.BlacklistEpoch(), "warden:ab:n:api:192.0.2.7", "1000", "e",
                       "192.0.2.7", "60000", "1", "60000", "ban #", "", "web9", "autoban"});
  ASSERT_EQ(reply.elements.size(), 2u);
  EXPECT_EQ(reply.elements[0].integer, 0);
  EXPECT_EQ(redis_->Command({"HGET", schema.BlacklistEntries(), "192.0.2.7"}).str.substr(0, 3),
            "v2\t");
  EXPECT_EQ(redis_->Command({"EXISTS", "warden:ab:n:api:192.0.2.7"}).integer, 0);

  warden({"allow", "--remove", "192.0.2.7"});
  EXPECT_TRUE(PollUntil([&] { return from("192.0.2.7") == 403; }, 2s)) << nginx.ErrorLog();
}

TEST_F(AutobanIntegrationTest, BadDirectives) {
  struct Case {
    std::string line, message;
  };
  std::vector<Case> cases = {
      {"warden_autoban zone=nope strikes=1;", "needs zone= naming a warden_limit_zone"},
      {"warden_autoban zone=api strikes=0;", "invalid strikes"},
      {"warden_autoban zone=api findtime=soon;", "invalid time \"findtime=soon\""},
      {"warden_autoban zone=api bantime=1h maxtime=1m;", "maxtime is shorter than bantime"},
      {"warden_autoban zone=api factor=0.5;", "invalid factor"},
      {"warden_autoban zone=api;\nwarden_autoban zone=api;", "has an autoban already"},
  };
  for (auto& c : cases) {
    auto r = NginxServer::Test(Config(c.line));
    EXPECT_NE(r.exit_code, 0) << c.line;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.line << "\n" << r.err;
  }
  NginxServer::Options no_redis;
  no_redis.http =
      "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/s;\n"
      "warden_autoban zone=api;\nserver { listen 127.0.0.1:@PORT@; }\n";
  auto r = NginxServer::Test(no_redis);
  EXPECT_NE(r.err.find("it needs \"warden_redis\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace warden::test
