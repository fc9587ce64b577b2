// Rate limits end to end: Debian's nginx with the module, real redis-servers, compared with
// nginx's own limit_req in the same server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "common/redis_schema.h"
#include "core/leaky_bucket.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_monitor.h"
#include "support/redis_server.h"
#include "support/server_suite.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

class LimitIntegrationTest : public test::RedisSuite {
 protected:
  void SetUp() override { RedisSuite::SetUp(); }

  static std::string RedisLine() {
    return "warden_redis 127.0.0.1:" + std::to_string(redis_->port()) + " timeout=300ms;\n";
  }

  // http-level directives plus one server with the given locations.
  static NginxServer::Options Config(const std::string& http, const std::string& locations,
                                     int workers = 2) {
    NginxServer::Options o;
    o.workers = workers;
    o.http = http +
             "include @CONF@/warden-log-format.conf;\n"
             "access_log @DIR@/access.log warden_json;\n"
             "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n" +
             locations + "}\n";
    return o;
  }

  // A Redis that DEBUG SLEEP can stall.
  static RedisServer::Options SleepyRedis() {
    RedisServer::Options o;
    o.extra_args = {"--enable-debug-command", "yes"};
    return o;
  }

  // An exact zone "api" keyed by the X-Key header, on `redis` with the given timeout and rate.
  static NginxServer::Options ExactZoneOn(const RedisServer& redis, const std::string& timeout,
                                          const std::string& rate, const std::string& locations,
                                          int workers = 2) {
    return Config("warden_redis 127.0.0.1:" + std::to_string(redis.port()) + " timeout=" + timeout +
                      ";\nwarden_limit_zone $http_x_key zone=api:1m rate=" + rate +
                      " sync=exact;\n",
                  locations, workers);
  }

  // One zone "api" keyed by the client address, `rate` and `sync` as given, limiting "/" with
  // `warden_limit zone=api` plus `limit_args`.
  static NginxServer::Options ApiZone(const std::string& rate, const std::string& sync,
                                      const std::string& limit_args = "") {
    return Config(RedisLine() + "warden_limit_zone $binary_remote_addr zone=api:1m rate=" + rate +
                      " sync=" + sync + ";\n",
                  "  location / { warden_limit zone=api" + limit_args + "; }\n");
  }
};

TEST_F(LimitIntegrationTest, SameStatusesAsLimitReqWithBurstAndNodelay) {
  NginxServer nginx(
      Config("limit_req_zone $binary_remote_addr zone=std:1m rate=10r/s;\n"
             "warden_limit_zone $binary_remote_addr zone=wd:1m rate=10r/s sync=off;\n",
             "  location /std/ { limit_req zone=std burst=3 nodelay; limit_req_status 429;"
             " alias @DIR@/html/; }\n"
             "  location /wd/ { warden_limit zone=wd burst=3 nodelay; alias @DIR@/html/; }\n"));
  std::string std_seq, wd_seq;
  for (int i = 0; i < 8; ++i) {
    std_seq += std::to_string(nginx.Get("/std/").status) + " ";
    wd_seq += std::to_string(nginx.Get("/wd/").status) + " ";
  }
  EXPECT_EQ(wd_seq, std_seq);
  EXPECT_EQ(wd_seq, "200 200 200 200 429 429 429 429 ");
}

TEST_F(LimitIntegrationTest, RejectionCarriesRetryAfterAndRateLimitHeaders) {
  NginxServer nginx(
      Config("warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/s sync=off;\n",
             "  location / { warden_limit zone=api; warden_limit_headers on; }\n"));
  auto first = nginx.Get("/");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.headers["ratelimit-policy"], "\"api\";q=1;w=1");
  EXPECT_EQ(first.headers["ratelimit"], "\"api\";r=0;t=0");
  auto second = nginx.Get("/");
  ASSERT_EQ(second.status, 429);
  EXPECT_EQ(second.headers["retry-after"], "1");
  EXPECT_EQ(second.headers["ratelimit"], "\"api\";r=0;t=1");
  // One request's worth, less whatever leaked in the millisecond or so between the two.
  EXPECT_TRUE(std::regex_search(
      nginx.ErrorLog(),
      std::regex(R"(limiting requests by warden, excess: (1\.000|0\.9\d\d) by zone "api")")))
      << nginx.ErrorLog();
  std::istringstream log(nginx.AccessLog());
  std::string line, last;
  while (std::getline(log, line)) last = line;
  auto j = nlohmann::json::parse(last);
  EXPECT_EQ(j["warden_decision"], "limit");
  EXPECT_EQ(j["warden_reason"], "limit zone api");
}

TEST_F(LimitIntegrationTest, StatusAndLogLevelAreConfigurable) {
  NginxServer nginx(
      Config("warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=off;\n",
             "  warden_limit_status 503;\n  warden_limit_log_level warn;\n"
             "  location / { warden_limit zone=api; }\n"));
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.Get("/").status, 503);
  EXPECT_NE(nginx.ErrorLog().find("[warn]"), std::string::npos);
}

TEST_F(LimitIntegrationTest, DryRunLogsAndServes) {
  NginxServer nginx(
      Config("warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=off;\n",
             "  location / { warden_limit zone=api; warden_limit_dry_run on; }\n"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_NE(nginx.ErrorLog().find("limiting requests, dry run, by warden"), std::string::npos)
      << nginx.ErrorLog();
  EXPECT_NE(nginx.AccessLog().find("\"warden_decision\":\"limit_dry_run\""), std::string::npos);
}

TEST_F(LimitIntegrationTest, AllowListIsNeverLimited) {
  NginxServer nginx(
      Config("warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=off;\n",
             "  warden_allow 127.0.0.0/8;\n"
             "  location / { warden_limit zone=api; }\n"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(nginx.Get("/").status, 200);
}

TEST_F(LimitIntegrationTest, EmptyKeyIsNotLimited) {
  NginxServer nginx(Config("warden_limit_zone $http_x_api_key zone=keys:1m rate=1r/m sync=off;\n",
                           "  location / { warden_limit zone=keys; }\n"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.Get("/", {{"X-Api-Key", "k1"}}).status, 200);
  EXPECT_EQ(nginx.Get("/", {{"X-Api-Key", "k1"}}).status, 429);
  EXPECT_EQ(nginx.Get("/", {{"X-Api-Key", "k2"}}).status, 200);
}

// A key of one variable is read by its index, any other through the script engine: "${name}"
// is the same one variable, and a key of several parts keeps each combination apart.
TEST_F(LimitIntegrationTest, KeysInBracesAndOfSeveralPartsLimitAsLimitReq) {
  NginxServer braces(
      Config("warden_limit_zone ${http_x_api_key} zone=keys:1m rate=1r/m sync=off;\n",
             "  location / { warden_limit zone=keys; }\n"));
  EXPECT_EQ(braces.Get("/").status, 200);  // no header: an empty key, not limited
  EXPECT_EQ(braces.Get("/").status, 200);
  EXPECT_EQ(braces.Get("/", {{"X-Api-Key", "k1"}}).status, 200);
  EXPECT_EQ(braces.Get("/", {{"X-Api-Key", "k1"}}).status, 429);

  NginxServer parts(
      Config("warden_limit_zone $http_x_api_key:$uri zone=keys:1m rate=1r/m sync=off;\n",
             "  location / { warden_limit zone=keys; }\n"));
  EXPECT_EQ(parts.Get("/", {{"X-Api-Key", "k1"}}).status, 200);
  EXPECT_EQ(parts.Get("/", {{"X-Api-Key", "k1"}}).status, 429);
  EXPECT_EQ(parts.Get("/open/", {{"X-Api-Key", "k1"}}).status, 200);  // another key: k1:/open/
  EXPECT_EQ(parts.Get("/", {{"X-Api-Key", "k2"}}).status, 200);
}

// Two nginx nodes on one Redis, each flooded by its own client: with interval sync the fleet
// admits the configured rate, not twice it.
TEST_F(LimitIntegrationTest, TwoNodesShareOneLimitWithinFifteenPercent) {
  auto config = ApiZone("20r/s", "100ms", " nodelay");
  NginxServer a(config), b(config);
  std::atomic<int> accepted{0};
  const auto duration = 4s;
  auto flood = [&](const NginxServer& n) {
    auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
      if (n.Get("/").status == 200) ++accepted;
      std::this_thread::sleep_for(2ms);
    }
  };
  std::thread ta(flood, std::cref(a)), tb(flood, std::cref(b));
  ta.join();
  tb.join();
  double expected = 20.0 * 4;
  EXPECT_NEAR(accepted.load(), expected, expected * 0.15)
      << "one node alone would admit " << expected << ", two unsynced nodes twice that";
  std::printf("two nodes admitted %d of %.0f\n", accepted.load(), expected);
}

// sync=exact: Redis decides every request, so two nodes hold one limit tightly: together they
// admit the rate over the time their clients kept asking, plus the burst and the first request.
// The burst (half a second at 20r/s) keeps a client stalled by a loaded machine (ASan, a
// parallel build) from losing capacity: without one, a pause admits less than the rate.
TEST_F(LimitIntegrationTest, ExactModeTwoNodesWithinFivePercent) {
  auto config = ApiZone("20r/s", "exact", " burst=10 nodelay");
  NginxServer a(config), b(config);
  // Let both workers' Redis connections come up before the clock starts.
  ASSERT_TRUE(PollUntil([&] { return redis_->Command({"CLIENT", "LIST"}).str.size() > 0; }, 1s));
  std::this_thread::sleep_for(300ms);
  redis_->Command({"DEL", "warden:rl:api:7f000001"});
  std::atomic<int> accepted{0};
  std::mutex last_mutex;
  const auto first = std::chrono::steady_clock::now();
  auto last = first;  // when the last request was sent
  auto flood = [&](const NginxServer& n) {
    auto until = first + 3s;
    for (auto now = first; now < until; now = std::chrono::steady_clock::now()) {
      {
        std::lock_guard<std::mutex> lock(last_mutex);
        last = std::max(last, now);
      }
      if (n.Get("/").status == 200) ++accepted;
      std::this_thread::sleep_for(2ms);
    }
  };
  std::thread ta(flood, std::cref(a)), tb(flood, std::cref(b));
  ta.join();
  tb.join();
  const double seconds = std::chrono::duration<double>(last - first).count();
  const double expected = 20.0 * seconds + 10 + 1;
  std::printf("exact mode: two nodes admitted %d of %.1f\n", accepted.load(), expected);
  EXPECT_NEAR(accepted.load(), expected, expected * 0.05)
      << "one node alone would admit " << expected << ", two unsynced nodes nearly twice that";
}

// The exact script takes a count per key: one key with a count of n must decide, store and
// expire exactly as n single requests for a key of its own in the same call (same clock).
TEST_F(LimitIntegrationTest, ExactScriptCountDecidesLikeRequestsOneByOne) {
  std::mt19937 rng(11);
  for (int round = 0; round < 60; ++round) {
    LeakyBucketParams p;
    p.rate = (1 + rng() % 200) * 1000;
    p.burst = (rng() % 6) * 1000;
    int n = 1 + static_cast<int>(rng() % 9);
    std::vector<std::string> args = {"EVAL", RedisSchema::kLimitExactScript, std::to_string(1 + n),
                                     "grouped"};
    for (int i = 0; i < n; ++i) args.push_back("single");
    for (int i = 0; i < 1 + n; ++i) {
      args.push_back(std::to_string(p.rate));
      args.push_back(std::to_string(p.burst));
      args.push_back(i == 0 ? std::to_string(n) : "1");
    }
    auto reply = redis_->Command(args);
    ASSERT_EQ(reply.elements.size(), static_cast<size_t>(1 + n)) << reply.str;
    for (int i = 0; i < n; ++i) {
      LeakyBucketVerdict derived = LeakyBucket::Simultaneous(p, reply.elements[0].integer, i);
      int64_t single = reply.elements[1 + i].integer;
      ASSERT_EQ(derived.excess, single) << "round " << round << " request " << i;
      ASSERT_EQ(derived.rejected, single > p.burst) << "round " << round << " request " << i;
    }
    // Both keys hold the same level and time, with expiries a round trip apart at most.
    ASSERT_EQ(redis_->Command({"GET", "grouped"}).str, redis_->Command({"GET", "single"}).str);
    long long a = redis_->Command({"PTTL", "grouped"}).integer;
    long long b = redis_->Command({"PTTL", "single"}).integer;
    EXPECT_NEAR(a, b, 50) << "round " << round;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 15));  // some leaks out
    if (rng() % 8 == 0) redis_->Command({"DEL", "grouped", "single"});   // fresh keys too
  }
}

// Requests that reach the worker together share one script call and one key in it: still
// exactly the first request plus the burst get through, as with limit_req.
TEST_F(LimitIntegrationTest, ExactModeConcurrentRequestsAdmitExactlyTheBurst) {
  NginxServer nginx(ApiZone("1r/m", "exact", " burst=5 nodelay"));
  std::this_thread::sleep_for(300ms);  // the workers connect
  RedisMonitor monitor(*redis_);
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 24; ++i) {
    clients.emplace_back([&] {
      int status = nginx.Get("/").status;
      if (status == 200) ++accepted;
      if (status == 429) ++refused;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(accepted.load(), 6);
  EXPECT_EQ(refused.load(), 18);
  ASSERT_TRUE(monitor.Sync(*redis_));
  EXPECT_GE(monitor.Count({"\"EVAL", "warden:rl:api:"}), 1u) << "Redis decided";
  // The bucket holds the burst (5 requests x 1000), less what leaked at 1r/m meanwhile.
  long long level = std::stoll(redis_->Command({"GET", "warden:rl:api:7f000001"}).str);
  EXPECT_GE(level, 4900);
  EXPECT_LE(level, 5000);
}

TEST_F(LimitIntegrationTest, ExactModeAttackerIsRefusedLocally) {
  NginxServer nginx(ApiZone("1r/m", "exact"));
  std::this_thread::sleep_for(300ms);  // the workers connect
  ASSERT_TRUE(PollUntil([&] { return nginx.Get("/").status == 429; }, 2s));
  RedisMonitor monitor(*redis_);  // the zone's bucket keys only: not the nodes' heartbeats
  for (int i = 0; i < 300; ++i) ASSERT_EQ(nginx.Get("/").status, 429);
  ASSERT_TRUE(monitor.Sync(*redis_));
  EXPECT_LE(monitor.Count({"\"EVAL", "warden:rl:api:"}), 3u)
      << "an attacker over the limit must cost Redis nothing";
}

TEST_F(LimitIntegrationTest, ExactModeFailsOpenToThisNodeWhenRedisIsDown) {
  NginxServer nginx(Config(RedisLine() +
                               "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m "
                               "sync=exact;\n"
                               "warden_limit_zone $binary_remote_addr zone=strict:1m rate=1r/m "
                               "sync=exact;\n",
                           "  location / { warden_limit zone=api burst=1 nodelay; }\n"
                           "  location /closed/ { warden_limit zone=strict; "
                           "warden_limit_fail closed; alias @DIR@/html/; }\n"));
  redis_->Kill();
  std::string seq;
  for (int i = 0; i < 4; ++i) seq += std::to_string(nginx.Get("/").status) + " ";
  EXPECT_EQ(seq, "200 200 429 429 ") << "per-node limiting while Redis is away";
  // A fresh key that fail-open would serve: fail closed refuses it.
  EXPECT_EQ(nginx.Get("/closed/").status, 429);
  redis_->Restart();
}

TEST_F(LimitIntegrationTest, ExactModeReloadsAFlushedScriptInsteadOfFailing) {
  // Fail closed: a call that fails would show as a 429 within the burst.
  NginxServer nginx(Config(RedisLine() +
                               "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m "
                               "sync=exact;\n",
                           "  location / { warden_limit zone=api burst=5 nodelay; "
                           "warden_limit_fail closed; }\n"));
  std::this_thread::sleep_for(300ms);  // the worker connects and loads the script
  ASSERT_EQ(nginx.Get("/").status, 200);
  ASSERT_EQ(nginx.Get("/").status, 200);
  // As after a restart of Redis without the script cache: EVALSHA now answers NOSCRIPT.
  redis_->Command({"SCRIPT", "FLUSH"});
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += std::to_string(nginx.Get("/").status) + " ";
  EXPECT_EQ(seq, "200 200 200 200 429 429 ") << nginx.ErrorLog();
  // The digest is back: the later calls are EVALSHA again.
  auto info = redis_->Command({"INFO", "commandstats"});
  EXPECT_NE(info.str.find("cmdstat_script"), std::string::npos);
}

// Two exact zones on one key in one location, under concurrent requests: a request waits for
// one zone's answer before asking the next, so one script call carries one request's "small"
// next to another's "large", on the same key. Each zone must count every request once, in its
// own bucket.
TEST_F(LimitIntegrationTest, ExactZonesOfOneLimitOnOneKeyKeepTheirOwnBuckets) {
  NginxServer nginx(Config(RedisLine() +
                               "warden_limit_zone $binary_remote_addr zone=small:1m rate=1r/m "
                               "sync=exact;\n"
                               "warden_limit_zone $binary_remote_addr zone=large:1m rate=1r/m "
                               "sync=exact;\n",
                           "  location / { warden_limit zone=small burst=100 nodelay; "
                           "warden_limit zone=large burst=100 nodelay; "
                           "warden_limit_fail closed; }\n"));
  std::this_thread::sleep_for(300ms);  // the worker connects and loads the script
  const int kClients = 8, kEach = 6;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) ok += nginx.Get("/").status == 200;
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(ok.load(), kClients * kEach) << nginx.ErrorLog();
  // "level:last" in thousandths of a request: the first request leaves 0, each later one adds
  // 1000, less what leaked at 1r/m meanwhile (a few thousandths).
  auto level = [&](const char* zone) {
    auto keys = redis_->Command({"KEYS", std::string("warden:*") + zone + "*"});
    EXPECT_EQ(keys.elements.size(), 1u) << zone;
    if (keys.elements.size() != 1) return -1L;
    std::string v = redis_->Command({"GET", keys.elements[0].str}).str;
    return std::stol(v.substr(0, v.find(':')));
  };
  long small = level("small"), large = level("large");
  EXPECT_GT(small, (kClients * kEach - 1) * 1000 - 500);
  EXPECT_LE(small, (kClients * kEach - 1) * 1000);
  EXPECT_GT(large, (kClients * kEach - 1) * 1000 - 500);
  EXPECT_LE(large, (kClients * kEach - 1) * 1000);
}

TEST_F(LimitIntegrationTest, IntervalModeIgnoresALevelNoBucketCanHave) {
  NginxServer nginx(Config(RedisLine() +
                               "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/s "
                               "sync=50ms;\n",
                           "  location / { warden_limit zone=api burst=1000 nodelay; }\n"));
  std::this_thread::sleep_for(300ms);  // the leader connects
  ASSERT_EQ(nginx.Get("/").status, 200);
  std::string key;
  ASSERT_TRUE(PollUntil(
      [&] {
        auto keys = redis_->Command({"KEYS", "warden:rl:api:*"});
        if (keys.elements.empty()) return false;
        key = keys.elements[0].str;
        return true;
      },
      2s));
  // Whatever wrote this, it is no level: 10^15 requests' worth.
  const std::string planted =
      "1000000000000000:" + redis_->Command({"TIME"}).elements[0].str + "000";
  redis_->Command({"SET", key, planted});
  ASSERT_EQ(nginx.Get("/").status, 200);  // counted here, pushed at the next interval
  ASSERT_TRUE(PollUntil([&] { return redis_->Command({"GET", key}).str != planted; }, 2s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(nginx.Get("/").status, 200) << "a malformed level from Redis refused the client";
}

TEST_F(LimitIntegrationTest, ExactModeSlowRedisTimesOutThenTheCircuitOpens) {
  RedisServer slow(SleepyRedis());
  NginxServer nginx(
      ExactZoneOn(slow, "100ms", "100r/s", "  location / { warden_limit zone=api; }\n"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(nginx.Get("/", {{"X-Key", "warmup"}}).status, 200);
  std::thread sleeper([&] { slow.Command({"DEBUG", "SLEEP", "2"}); });
  std::this_thread::sleep_for(50ms);
  int served = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    served += nginx.Get("/", {{"X-Key", "k" + std::to_string(i)}}).status == 200;
  }
  auto took = std::chrono::steady_clock::now() - start;
  sleeper.join();
  EXPECT_EQ(served, 20) << "fail open";
  // Without the circuit, 20 requests would wait 100 ms each; it opens after 5 failures.
  EXPECT_LT(took, 1500ms);
  EXPECT_NE(nginx.ErrorLog().find("redis did not decide in time"), std::string::npos);
}

// While a script call is in flight, the requests that arrive wait and go together in the next
// call, sent when its reply is in: 20 requests in 20 loop turns of one worker, during a Redis
// that answers nothing for 400 ms, cost two calls, not 20, and each is decided by Redis.
TEST_F(LimitIntegrationTest, ExactModeRequestsThatArriveDuringACallShareTheNext) {
  RedisServer slow(SleepyRedis());
  NginxServer nginx(ExactZoneOn(slow, "3s", "1r/m",
                                "  location / { warden_limit zone=api burst=1 nodelay; "
                                "warden_limit_fail closed; }\n",
                                1));
  std::this_thread::sleep_for(300ms);  // the worker connects and loads the script
  ASSERT_EQ(nginx.Get("/", {{"X-Key", "warmup"}}).status, 200);
  auto script_calls = [&] { return slow.CommandCalls("evalsha") + slow.CommandCalls("eval"); };
  const long long before = script_calls();
  std::thread sleeper([&] { slow.Command({"DEBUG", "SLEEP", "0.4"}); });
  std::this_thread::sleep_for(50ms);
  // Each key twice, both within its burst; a third, after, is refused by the count Redis
  // kept. Fail closed: a request Redis did not decide is refused, so 20 passes are 20 answers.
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, refused{0};
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back([&, i] {
      int status = nginx.Get("/", {{"X-Key", "k" + std::to_string(i / 2)}}).status;
      ok += status == 200;
      refused += status == 429;
    });
    std::this_thread::sleep_for(5ms);  // a loop turn of its own
  }
  for (auto& t : clients) t.join();
  sleeper.join();
  EXPECT_EQ(ok.load(), 20) << nginx.ErrorLog();  // burst=1: two requests of a key pass
  EXPECT_EQ(refused.load(), 0);
  // the one sent before the pause, then all that waited for its reply (at most kExactBatch)
  EXPECT_LE(script_calls() - before, 2) << nginx.ErrorLog();
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(nginx.Get("/", {{"X-Key", "k" + std::to_string(k)}}).status, 429) << "k" << k;
  }
}

TEST_F(LimitIntegrationTest, KeyOverTheLimitCostsRedisNothing) {
  NginxServer nginx(ApiZone("1r/m", "100ms"));
  ASSERT_EQ(nginx.Get("/").status, 200);
  ASSERT_TRUE(PollUntil(  // the one accepted request reached Redis
      [&] {
        return redis_->Command({"EXISTS", "warden:rl:api:7f000001"}).integer == 1;
      },
      2s));
  RedisMonitor monitor(*redis_);  // the zone's bucket keys only: not the nodes' heartbeats
  for (int i = 0; i < 300; ++i) ASSERT_EQ(nginx.Get("/").status, 429);
  std::this_thread::sleep_for(300ms);  // several sync intervals pass
  ASSERT_TRUE(monitor.Sync(*redis_));
  EXPECT_LE(monitor.Count({"\"EVAL", "warden:rl:api:"}), 3u)
      << "rejected requests must not reach Redis";
}

TEST_F(LimitIntegrationTest, RedisKilledUnderLoadKeepsLimitingLocally) {
  NginxServer nginx(
      Config(RedisLine() + "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n",
             "  location / { warden_limit zone=api burst=2 nodelay; }\n"));
  std::string seq;
  for (int i = 0; i < 2; ++i) seq += std::to_string(nginx.Get("/").status) + " ";
  std::thread killer([&] { redis_->Kill(); });
  for (int i = 0; i < 3; ++i) seq += std::to_string(nginx.Get("/").status) + " ";
  killer.join();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(nginx.Get("/").status, 429);
  EXPECT_EQ(seq, "200 200 200 429 429 ");
  redis_->Restart();
}

TEST_F(LimitIntegrationTest, ReloadUnderLoadKeepsLimitState) {
  NginxServer nginx(
      Config(RedisLine() + "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n",
             "  location / { warden_limit zone=api; }\n"));
  ASSERT_EQ(nginx.Get("/").status, 200);
  ASSERT_EQ(nginx.Get("/").status, 429);
  // Requests keep coming while nginx reloads: every one is answered, and all are refused,
  // because the key's bucket lives on in the shared zone.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, other{0};
  std::thread load([&] {
    while (!stop) {
      int status = nginx.Get("/").status;
      if (status == 429) {
        ++answered;
      } else {
        ++other;
      }
    }
  });
  nginx.Reload();
  std::this_thread::sleep_for(200ms);
  stop = true;
  load.join();
  EXPECT_GT(answered.load(), 10);
  EXPECT_EQ(other.load(), 0) << "a request failed or got through during the reload";
  EXPECT_EQ(nginx.Get("/").status, 429);
}

// As limit_req: a warden_limit may name a zone declared further on.
TEST_F(LimitIntegrationTest, ZoneMayBeDeclaredAfterTheLimitThatUsesIt) {
  NginxServer::Options o;
  o.http =
      "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n"
      "  location / { warden_limit zone=api; }\n}\n"
      "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=off;\n";
  NginxServer nginx(o);
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.Get("/").status, 429);
}

// As limit_req: a reload that gives a zone another key is refused (the zone's buckets are keyed
// by the old one), and the old workers go on with the old configuration. `nginx -t` cannot
// tell: only the running master knows the old key.
TEST_F(LimitIntegrationTest, ReloadThatChangesAZoneKeyIsRefused) {
  auto by_address =
      Config("warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=off;\n",
             "  location / { warden_limit zone=api; }\n");
  // These requests have no X-Key: under this configuration none would be limited.
  auto by_header = Config("warden_limit_zone $http_x_key zone=api:1m rate=1r/m sync=off;\n",
                          "  location / { warden_limit zone=api; }\n");
  NginxServer nginx(by_address);
  ASSERT_EQ(nginx.Get("/").status, 200);
  ASSERT_EQ(nginx.Get("/").status, 429);
  auto workers = nginx.WorkerPids();
  std::sort(workers.begin(), workers.end());

  EXPECT_EQ(NginxServer::Test(by_header).exit_code, 0);
  nginx.Reconfigure(by_header);
  nginx.SendReload();
  const std::string refused =
      "warden_limit_zone \"api\" uses the \"$http_x_key\" key while previously it used the "
      "\"$binary_remote_addr\" key";
  ASSERT_TRUE(PollUntil([&] { return nginx.ErrorLog().find(refused) != std::string::npos; }, 10s))
      << nginx.ErrorLog();
  EXPECT_EQ(nginx.Get("/").status, 429) << "the old configuration must still be in force";
  auto now = nginx.WorkerPids();
  std::sort(now.begin(), now.end());
  EXPECT_EQ(now, workers) << "the old workers must keep serving";

  // The same key again: the reload goes through and the bucket carries over.
  nginx.Reconfigure(by_address);
  nginx.Reload();
  EXPECT_EQ(nginx.Get("/").status, 429);
}

TEST_F(LimitIntegrationTest, BadDirectivesFailConfigTest) {
  struct Case {
    std::string http, location, message;
  };
  std::vector<Case> cases = {
      {"warden_limit_zone $binary_remote_addr rate=1r/s;", "", "must have \"zone\" parameter"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m;", "", "must have \"rate\" parameter"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=fast;", "", "invalid rate"},
      {"warden_limit_zone $binary_remote_addr zone=a rate=1r/s;", "", "invalid zone size"},
      {"warden_limit_zone $binary_remote_addr zone=a:1k rate=1r/s;", "", "is too small"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=soon;", "", "invalid sync"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=100ms;", "",
       "there is no \"warden_redis\""},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;\n"
       "warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;",
       "", "is duplicate"},
      {"", "warden_limit zone=nope;", "unknown warden_limit_zone \"nope\""},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;",
       "warden_limit zone=a burst=0;", "invalid burst value"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;",
       "warden_limit zone=a burst=1000001;", "invalid burst value"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;",
       "warden_limit zone=a burst=99999999999999999999;", "invalid burst value"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;",
       "warden_limit zone=a burst=10 delay=2000000;", "invalid delay value"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=9223372036854775807r/s;", "",
       "with N from 1 to 1000000"},
      {"warden_redis 127.0.0.1:6379;\n"
       "warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=2h;",
       "", "an interval from 10ms to 60s"},
      {"warden_redis 127.0.0.1:6379 timeout=1h;", "", "timeout must be from 1ms to 60s"},
      {"warden_redis 127.0.0.1:6379;\n"
       "warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s;\n"
       "warden_autoban zone=a bantime=400d;",
       "", "expected 1s to 365d"},
      {"warden_limit_zone $binary_remote_addr zone=a:1m rate=1r/s sync=off;",
       "warden_limit zone=a fast;", "invalid parameter \"fast\""},
      {"", "warden_limit_log_level loud;", "invalid value \"loud\""},
      {"", "warden_limit_status 99;", "between 400 and 599"},
  };
  for (auto& c : cases) {
    auto r = NginxServer::Test(Config(c.http + "\n", "  location / { " + c.location + " }\n"));
    EXPECT_NE(r.exit_code, 0) << c.http << c.location;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.http << c.location << "\n" << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << r.err;
  }
  // A key naming a variable nobody defines: nginx itself says so once the whole configuration
  // is read (a map or set later in the file may define it), without a line, as for limit_req.
  for (const char* key : {"$nope", "${nope}", "$nope:$uri"}) {
    auto r = NginxServer::Test(
        Config(std::string("warden_limit_zone ") + key + " zone=a:1m rate=1r/s sync=off;\n",
               "  location / { warden_limit zone=a; }\n"));
    EXPECT_NE(r.exit_code, 0) << key;
    EXPECT_NE(r.err.find("unknown \"nope\" variable"), std::string::npos) << key << r.err;
  }
}

}  // namespace
}  // namespace warden::test
