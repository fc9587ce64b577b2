// `warden top`: per-address counts summed in nginx's shared memory, flushed to Redis in
// batches, read back by the CLI across the fleet.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

long long Calls(RedisServer& redis, const std::string& command) {
  auto info = redis.Command({"INFO", "commandstats"}).str;
  auto pos = info.find("cmdstat_" + command + ":calls=");
  return pos == std::string::npos ? 0 : std::stoll(info.substr(pos + 15 + command.size()));
}

TEST(TopIntegrationTest, CountsPerAddressAndCountryAcrossTwoNodes) {
  RedisServer redis;
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_geoip @MMDB@;\n"
           "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
           "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
           "  location / { warden_limit zone=api burst=2 nodelay; root @DIR@/html; }\n}\n";
  NginxServer a(o), b(o);
  long long evals_before = Calls(redis, "eval");
  // 8.8.8.8 (US): 10 requests over both nodes; 1.1.1.1 (AU): 2; 81.2.69.142 (GB): 1.
  for (int i = 0; i < 5; ++i) {
    a.Get("/", {{"X-Forwarded-For", "8.8.8.8"}});
    b.Get("/", {{"X-Forwarded-For", "8.8.8.8"}});
  }
  a.Get("/", {{"X-Forwarded-For", "1.1.1.1"}});
  b.Get("/", {{"X-Forwarded-For", "1.1.1.1"}});
  a.Get("/", {{"X-Forwarded-For", "81.2.69.142"}});

  auto top = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"top", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunWarden({.args = args, .redis = redis.url()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out.empty() ? "[]" : r.out);
  };
  nlohmann::json rows;
  ASSERT_TRUE(PollUntil(
      [&] {
        rows = top({});
        return rows.size() == 3 && rows[0]["requests"] == 10 && rows[1]["requests"] == 2;
      },
      8s))
      << rows.dump();
  EXPECT_EQ(rows[0]["address"], "8.8.8.8");
  EXPECT_EQ(rows[0]["country"], "US");
  // 1r/m with burst=2: a node serves at most 3 of its 5, so the fleet refused 4 or more.
  EXPECT_GE(rows[0]["refused"].get<int>(), 4);
  EXPECT_LE(rows[0]["refused"].get<int>(), 7);
  EXPECT_EQ(rows[1]["address"], "1.1.1.1");
  EXPECT_EQ(rows[1]["country"], "AU");
  EXPECT_EQ(rows[2]["address"], "81.2.69.142");
  EXPECT_EQ(rows[2]["requests"], 1);

  auto by_country = top({"--by", "country", "--limit", "2"});
  ASSERT_EQ(by_country.size(), 2u);
  EXPECT_EQ(by_country[0]["country"], "US");
  EXPECT_EQ(by_country[0]["addresses"], 1);
  EXPECT_EQ(by_country[1]["country"], "AU");

  // Thirteen requests, a few flushes: counts go to Redis in batches, not per request.
  EXPECT_LE(Calls(redis, "eval") - evals_before, 8);

  auto bad = RunWarden({.args = {"top", "--window", "1d"}, .redis = redis.url()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad --window"), std::string::npos);
}

}  // namespace
}  // namespace warden::test
