// `warden top`: per-address counts summed in nginx's shared memory, flushed to Redis in
// batches, read back by the CLI across the fleet.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_monitor.h"
#include "support/redis_server.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

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
  RedisMonitor monitor(redis);
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

  // Thirteen requests, a flush or two per node: counts go to Redis in batches, not per
  // request. (The traffic script's calls are the EVALs with its retention, 2 h in ms.)
  ASSERT_TRUE(monitor.Sync(redis));
  const size_t flushes = monitor.Count({"\"EVAL\"", "\"7200000\""});
  EXPECT_GE(flushes, 2u);
  EXPECT_LE(flushes, 4u);

  auto bad = RunWarden({.args = {"top", "--window", "1d"}, .redis = redis.url()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad --window"), std::string::npos);
}

std::string Dump(RedisServer& redis, const std::string& family) {
  std::string out;
  for (auto& key : redis.Command({"KEYS", "warden:top:" + family + ":*"}).elements) {
    for (auto& v : redis.Command({"ZRANGE", key.str, "0", "-1", "WITHSCORES"}).elements) {
      out += v.str + " ";
    }
  }
  return out;
}

// Sums a field of every minute's key of a family (a test may straddle a minute).
long long SumOver(RedisServer& redis, const std::string& family, const std::string& member) {
  long long total = 0;
  for (auto& key : redis.Command({"KEYS", "warden:top:" + family + ":*"}).elements) {
    auto v = family == "sum" ? redis.Command({"HGET", key.str, member})
                             : redis.Command({"ZSCORE", key.str, member});
    if (!v.str.empty()) total += std::stoll(v.str);
  }
  return total;
}

// What the console's "cause" view needs per address and minute: the status classes of its
// responses, the bytes sent, the time its requests spent on upstreams; per country; and the
// fleet's decisions.
TEST(TopIntegrationTest, StatusBytesUpstreamTimeCountriesAndDecisions) {
  RedisServer redis;
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_geoip @MMDB@;\n"
           "warden_limit_zone $binary_remote_addr zone=once:1m rate=1r/m;\n"
           "warden_limit_zone $binary_remote_addr zone=slow:1m rate=5r/s;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n  root @DIR@/html;\n"
           "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
           "  location / { }\n"
           "  location /bad { proxy_pass http://127.0.0.1:1; }\n"
           "  location /slow { proxy_pass http://127.0.0.1:@PORT@/inner; "
           "proxy_set_header X-Forwarded-For \"\"; }\n"
           "  location /inner { warden off; warden_limit zone=slow burst=5; "
           "try_files /index.html =404; }\n"
           "  location /once { warden_limit zone=once; try_files /index.html =404; }\n"
           "}\n";
  NginxServer nginx(o);
  auto get = [&](const char* path, const char* client) {
    return nginx.Get(path, {{"X-Forwarded-For", client}}).status;
  };
  EXPECT_EQ(get("/", "8.8.8.8"), 200);
  EXPECT_EQ(get("/nothing", "203.0.113.2"), 404);
  EXPECT_EQ(get("/nothing", "203.0.113.2"), 404);
  EXPECT_EQ(get("/open", "203.0.113.3"), 301);  // a directory without its slash
  EXPECT_EQ(get("/bad", "203.0.113.4"), 502);
  // The second inner request waits its turn at 5r/s: ~200 ms of upstream time.
  EXPECT_EQ(get("/slow", "203.0.113.5"), 200);
  EXPECT_EQ(get("/slow", "203.0.113.5"), 200);
  EXPECT_EQ(get("/once", "203.0.113.7"), 200);
  EXPECT_EQ(get("/once", "203.0.113.7"), 429);
  EXPECT_EQ(get("/nothing?token=secret", "203.0.113.8"), 404);  // counted without its query

  ASSERT_TRUE(PollUntil(
      [&] {
        return SumOver(redis, "req", "203.0.113.8") == 1 && SumOver(redis, "sum", "d:limit") >= 1;
      },
      10s))
      << nginx.ErrorLog();
  EXPECT_EQ(SumOver(redis, "s2xx", "8.8.8.8"), 1);
  EXPECT_GT(SumOver(redis, "bytes", "8.8.8.8"), 100);  // the status line, headers and "ok"
  EXPECT_EQ(SumOver(redis, "s4xx", "203.0.113.2"), 2);
  EXPECT_EQ(SumOver(redis, "s2xx", "203.0.113.2"), 0);
  EXPECT_EQ(SumOver(redis, "s3xx", "203.0.113.3"), 1);
  EXPECT_EQ(SumOver(redis, "s5xx", "203.0.113.4"), 1);
  EXPECT_EQ(SumOver(redis, "s2xx", "203.0.113.5"), 2);
  EXPECT_GE(SumOver(redis, "up", "203.0.113.5"), 150);
  EXPECT_LT(SumOver(redis, "up", "203.0.113.5"), 5000);
  EXPECT_EQ(SumOver(redis, "up", "8.8.8.8"), 0);        // no upstream: nothing noted
  EXPECT_EQ(SumOver(redis, "s4xx", "203.0.113.7"), 1);  // the 429
  EXPECT_EQ(SumOver(redis, "ref", "203.0.113.7"), 1);
  EXPECT_EQ(SumOver(redis, "cty", "US"), 1);
  // Per path, as the client asked (the inner requests are /inner's), never with a query.
  EXPECT_EQ(SumOver(redis, "path", "/nothing"), 3) << Dump(redis, "path");
  EXPECT_EQ(SumOver(redis, "path", "/"), 1);
  EXPECT_EQ(SumOver(redis, "path", "/slow"), 2);
  EXPECT_EQ(SumOver(redis, "path", "/inner"), 2);
  EXPECT_EQ(SumOver(redis, "p5xx", "/bad"), 1);
  EXPECT_GE(SumOver(redis, "pup", "/slow"), 150);
  EXPECT_EQ(Dump(redis, "path").find("secret"), std::string::npos);
  // The whois-based database puts 203.0.113.0/24 in AU; loopback has no country.
  EXPECT_EQ(SumOver(redis, "cty", "AU"), 9) << Dump(redis, "cty");
  EXPECT_EQ(SumOver(redis, "cty", "-"), 2) << Dump(redis, "cty");
  // The fleet's sums agree with the addresses'; the limited request is a decision "limit".
  EXPECT_EQ(SumOver(redis, "sum", "s5xx"), 1);
  EXPECT_EQ(SumOver(redis, "sum", "d:limit"), 1);
  // warden top reads them back: by path, by status class, and an address's detail.
  auto top = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"top", "--json"});
    auto r = RunWarden({.args = args, .redis = redis.url()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out.empty() ? "[]" : r.out);
  };
  auto paths = top({"--by", "path"});
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths[0]["path"], "/nothing") << paths.dump();
  EXPECT_EQ(paths[0]["requests"], 3);
  for (auto& row : paths) {
    if (row["path"] == "/bad") EXPECT_EQ(row["5xx"], 1);
    if (row["path"] == "/slow") EXPECT_GE(row["upstream_ms"].get<int>(), 150);
  }
  auto classes = top({"--by", "status"});
  ASSERT_EQ(classes.size(), 4u) << classes.dump();
  std::map<std::string, int> by_class;
  for (auto& row : classes) by_class[row["status"]] = row["requests"];
  EXPECT_EQ(by_class["5xx"], 1);
  EXPECT_EQ(by_class["3xx"], 1);
  EXPECT_EQ(by_class["4xx"], 4);  // three 404s and the 429
  auto addresses = top({"--limit", "50"});
  bool seen = false;
  for (auto& row : addresses) {
    if (row["address"] != "203.0.113.2") continue;
    seen = true;
    EXPECT_EQ(row["status"]["4xx"], 2);
    EXPECT_GT(row["bytes"].get<int>(), 0);
  }
  EXPECT_TRUE(seen) << addresses.dump();
  auto table = RunWarden({.args = {"top", "--by", "path"}, .redis = redis.url()});
  EXPECT_NE(table.out.find("PATH"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("/nothing"), std::string::npos) << table.out;

  // Each counted request has one decision, flushed with its counts.
  long long decided = 0;
  for (const char* d :
       {"pass", "allow", "block", "dry_run", "limit", "delay", "limit_dry_run", "challenge"}) {
    decided += SumOver(redis, "sum", std::string("d:") + d);
  }
  EXPECT_EQ(decided, SumOver(redis, "sum", "requests"));
  EXPECT_GE(SumOver(redis, "req", "127.0.0.1"), 2);
}

// Per address: its distinct paths, its most requested path, its user agent and its autoban
// strikes, from clients on several loopback addresses, read back by `warden top`.
TEST(TopIntegrationTest, DistinctPathsTopPathUserAgentAndStrikesPerAddress) {
  RedisServer redis;
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n"
           "warden_autoban zone=api strikes=50 findtime=1m bantime=1h;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n  root @DIR@/html;\n"
           "  location / { try_files /index.html =404; }\n"
           "  location /api { warden_limit zone=api burst=1 nodelay; "
           "try_files /index.html =404; }\n}\n";
  NginxServer nginx(o);
  auto get = [&](const std::string& client, const std::string& path, const std::string& agent) {
    std::map<std::string, std::string> headers;
    if (!agent.empty()) headers["User-Agent"] = agent;
    return HttpGet("127.0.0.1", nginx.port(), path, headers, 3s, client).status;
  };
  // .30: three paths, /a the most; one user agent.
  for (const char* path : {"/a", "/b", "/a", "/c", "/a?x=1"}) {
    EXPECT_EQ(get("127.0.0.30", path, "alpha/1.0"), 200);
  }
  // .31: one path, two user agents, beta-bot/2 the most.
  for (const char* agent : {"beta-bot/2", "alpha/1.0", "beta-bot/2", "beta-bot/2"}) {
    EXPECT_EQ(get("127.0.0.31", "/x", agent), 200);
  }
  // .32: 1r/m with burst=1: two pass, the next three are refused, each a strike.
  int refused = 0;
  for (int i = 0; i < 5; ++i) refused += get("127.0.0.32", "/api", "gamma") == 429;
  EXPECT_EQ(refused, 3);
  // .33: no user agent at all.
  EXPECT_EQ(get("127.0.0.33", "/", ""), 200);

  auto top = [&] {
    auto r = RunWarden({.args = {"top", "--json", "--by", "address"}, .redis = redis.url()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out.empty() ? "[]" : r.out);
  };
  std::map<std::string, nlohmann::json> rows;
  nlohmann::json all;
  ASSERT_TRUE(PollUntil(
      [&] {
        all = top();
        rows.clear();
        for (auto& row : all) rows[row["address"]] = row;
        return rows.size() == 4 && rows["127.0.0.30"]["requests"] == 5 &&
               rows["127.0.0.32"]["requests"] == 5;
      },
      10s))
      << all.dump();
  EXPECT_EQ(rows["127.0.0.30"]["distinct_paths"], 3) << all.dump();
  EXPECT_EQ(rows["127.0.0.30"]["distinct_paths_saturated"], false);
  EXPECT_EQ(rows["127.0.0.30"]["top_path"], "/a");
  EXPECT_EQ(rows["127.0.0.30"]["user_agent"], "alpha/1.0");
  EXPECT_EQ(rows["127.0.0.30"]["strikes"], 0);
  EXPECT_EQ(rows["127.0.0.31"]["distinct_paths"], 1);
  EXPECT_EQ(rows["127.0.0.31"]["top_path"], "/x");
  EXPECT_EQ(rows["127.0.0.31"]["user_agent"], "beta-bot/2");
  EXPECT_EQ(rows["127.0.0.32"]["top_path"], "/api");
  EXPECT_EQ(rows["127.0.0.32"]["user_agent"], "gamma");
  EXPECT_EQ(rows["127.0.0.32"]["strikes"], 3);
  EXPECT_EQ(rows["127.0.0.32"]["refused"], 3);
  EXPECT_TRUE(rows["127.0.0.33"]["user_agent"].is_null());
  EXPECT_EQ(rows["127.0.0.33"]["distinct_paths"], 1);

  // In Redis, per minute: the sketches, the pairs counted and each address's leader.
  // (a Misra-Gries count: at most the path's requests, less by what others took from it)
  EXPECT_GE(SumOver(redis, "apath", "127.0.0.30\t/a"), 2) << Dump(redis, "apath");
  EXPECT_LE(SumOver(redis, "apath", "127.0.0.30\t/a"), 3) << Dump(redis, "apath");
  EXPECT_EQ(SumOver(redis, "strikes", "127.0.0.32"), 3);
  // The fleet's decisions travel with the counts: 3 limited, 12 passed.
  EXPECT_EQ(SumOver(redis, "sum", "d:limit"), 3);
  EXPECT_EQ(SumOver(redis, "sum", "d:pass"), 12);

  // The table has a few of them.
  auto table = RunWarden({.args = {"top", "--by", "address"}, .redis = redis.url()});
  EXPECT_NE(table.out.find("PATHS"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("USER_AGENT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("beta-bot/2"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace warden::test
