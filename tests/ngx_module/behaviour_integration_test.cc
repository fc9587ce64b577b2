// Behaviour rules end to end: nginx nodes on one Redis, clients told apart by realip's
// X-Forwarded-For, the real CLI to look at the list.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "core/challenge.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_server.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

class BehaviourIntegrationTest : public test::RedisSuite {
 protected:
  // `rules` at http level, `server` inside the server block (which has `warden on` and takes
  // the client address from X-Forwarded-For), `extra` after it.
  static NginxServer::Options Config(const std::string& rules, const std::string& server,
                                     const std::string& extra = "") {
    NginxServer::Options o;
    o.http = "warden_redis 127.0.0.1:" + std::to_string(redis_->port()) + ";\n" + rules +
             "\nserver {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
             "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
             "  location = /metrics { warden_status; }\n" +
             server + "}\n" + extra;
    return o;
  }

  static int From(const NginxServer& nginx, const std::string& addr, const std::string& path) {
    return nginx.Get(path, {{"X-Forwarded-For", addr}}).status;
  }

  nlohmann::json List() {
    auto r = RunWarden({.args = {"list", "--json"}, .redis = redis_->url()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
};

constexpr const char* kProbe =
    "warden_behaviour name=probe status=400,403,404 distinct=path capacity=10 leak=10s "
    "bantime=1h;";

TEST_F(BehaviourIntegrationTest, AScannerIsBannedOnEveryNodeWithItsEvidence) {
  NginxServer a(Config(kProbe, "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  // b watches nothing: a 403 there can only come from a's ban.
  NginxServer b(Config(kProbe, "  location / { root @DIR@/html; }\n"));
  const std::string scanner = "192.0.2.10";
  int refused_at = -1;
  for (int i = 0; i < 20 && refused_at < 0; ++i) {
    int status = From(a, scanner, "/scan/" + std::to_string(i) + ".php");
    if (status == 403)
      refused_at = i;
    else
      ASSERT_EQ(status, 404) << i;
  }
  // The 11th distinct 404 overflows the bucket of 10; a path sharing a bit may delay it.
  ASSERT_GE(refused_at, 11) << a.ErrorLog();
  EXPECT_EQ(From(a, scanner, "/"), 403);
  EXPECT_TRUE(PollUntil([&] { return From(b, scanner, "/") == 403; }, 2000ms)) << b.ErrorLog();
  EXPECT_EQ(From(a, "192.0.2.11", "/"), 200) << "another client";

  auto list = List();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["entry"], scanner);
  EXPECT_EQ(list[0]["source"], "autoban");
  EXPECT_EQ(list[0]["rule"], "probe");
  std::string reason = list[0]["reason"];
  EXPECT_EQ(reason.rfind("behaviour probe, ban #1: 11 events over capacity 10 (one leaks "
                         "every 10s): 404 /scan/",
                         0),
            0u)
      << reason;
  EXPECT_NE(a.ErrorLog().find("warden behaviour: client banned: behaviour probe: 11 events"),
            std::string::npos)
      << a.ErrorLog();
  auto metrics = a.Get("/metrics").body;
  EXPECT_NE(metrics.find("warden_behaviour_decisions_total{rule=\"probe\",decision=\"ban\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find("warden_behaviour_events_total{rule=\"probe\"} " + std::to_string(refused_at)),
      std::string::npos)
      << metrics;
}

TEST_F(BehaviourIntegrationTest, RepeatingOneMissingPathOrStaticFilesIsNotAScan) {
  NginxServer nginx(Config(kProbe, "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  for (int i = 0; i < 30; ++i) ASSERT_EQ(From(nginx, "192.0.2.20", "/missing"), 404) << i;
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(From(nginx, "192.0.2.21", "/img/" + std::to_string(i) + ".PNG"), 404) << i;
  }
  // Arguments do not make a path distinct.
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(From(nginx, "192.0.2.22", "/search.php?q=" + std::to_string(i)), 404) << i;
  }
  EXPECT_EQ(From(nginx, "192.0.2.20", "/"), 200);
  EXPECT_EQ(redis_->Command({"HLEN", "warden:bl:entries"}).integer, 0);
}

TEST_F(BehaviourIntegrationTest, FailedLoginsMarkedByTheApplicationAreBanned) {
  // The application answers 200 and marks a failed login with a header; the login backend is
  // a second server of the same nginx, reached through proxy_pass.
  NginxServer nginx(Config(
      "warden_behaviour name=login if=$upstream_http_x_login_failed capacity=5 leak=1m "
      "bantime=1h;",
      "  location / { root @DIR@/html; }\n"
      "  location /login/ { warden_watch login; proxy_pass http://unix:@DIR@/app.sock; }\n",
      "server {\n  listen unix:@DIR@/app.sock;\n  root @DIR@/html;\n"
      "  location /login/failed { add_header X-Login-Failed 1; try_files /index.html =404; }\n"
      "  location /login/ok { try_files /index.html =404; }\n}\n"));
  for (int i = 0; i < 6; ++i) ASSERT_EQ(From(nginx, "192.0.2.30", "/login/failed"), 200) << i;
  EXPECT_EQ(From(nginx, "192.0.2.30", "/"), 403) << nginx.ErrorLog();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(From(nginx, "192.0.2.31", "/login/failed"), 200) << i;
  EXPECT_EQ(From(nginx, "192.0.2.31", "/"), 200) << "four failed logins are within capacity";
  for (int i = 0; i < 20; ++i) ASSERT_EQ(From(nginx, "192.0.2.32", "/login/ok"), 200) << i;
  EXPECT_EQ(From(nginx, "192.0.2.32", "/"), 200) << "logins that did not fail";
  auto list = List();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["entry"], "192.0.2.30");
  EXPECT_EQ(std::string(list[0]["reason"]).rfind("behaviour login, ban #1: 6 events", 0), 0u)
      << list[0].dump();
}

TEST_F(BehaviourIntegrationTest, RepeatBansGrowByTheFactorUpToMaxtime) {
  NginxServer nginx(
      Config("warden_behaviour name=probe status=404 capacity=1 leak=1h bantime=1s factor=3 "
             "maxtime=5s;",
             "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  const std::string client = "192.0.2.95";
  auto entry = [&] { return redis_->Command({"HGET", "warden:bl:entries", client}); };
  std::vector<long long> bans;
  for (int round = 1; round <= 3; ++round) {
    // Once the previous ban is over, two more 404s overflow the bucket of one.
    ASSERT_TRUE(PollUntil([&] { return From(nginx, client, "/x") == 404; }, 10s)) << round;
    ASSERT_EQ(From(nginx, client, "/x"), 404) << round;
    ASSERT_TRUE(PollUntil(
        [&] {
          auto v = entry();
          return !v.is_nil() &&
                 v.str.find("ban #" + std::to_string(round) + ":") != std::string::npos;
        },
        2000ms))
        << round << " " << nginx.ErrorLog();
    auto v = entry().str;  // v1 \t expires \t added \t ...
    size_t a = v.find('\t') + 1, b = v.find('\t', a), c = v.find('\t', b + 1);
    bans.push_back(std::stoll(v.substr(a, b - a)) - std::stoll(v.substr(b + 1, c - b - 1)));
  }
  EXPECT_EQ(bans, (std::vector<long long>{1000, 3000, 5000})) << "capped by maxtime";
}

TEST_F(BehaviourIntegrationTest, AnInternalRedirectCountsTheRequestOnce) {
  // error_page sends each 404 through a second location: still one event per request.
  NginxServer nginx(Config("warden_behaviour name=probe status=404 capacity=3 leak=1h bantime=1h;",
                           "  warden_watch probe;\n  error_page 404 /index.html;\n"
                           "  location / { root @DIR@/html; }\n"));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(From(nginx, "192.0.2.50", "/x"), 404) << i;
  EXPECT_EQ(From(nginx, "192.0.2.50", "/"), 200) << "three 404s are within capacity";
  EXPECT_EQ(From(nginx, "192.0.2.50", "/x"), 404);
  EXPECT_EQ(From(nginx, "192.0.2.50", "/"), 403) << "the fourth overflows";
}

TEST_F(BehaviourIntegrationTest, AnAllowedAddressIsNeverCounted) {
  NginxServer nginx(Config(kProbe,
                           "  warden_allow 192.0.2.40;\n  warden_watch probe;\n"
                           "  location / { root @DIR@/html; }\n"));
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(From(nginx, "192.0.2.40", "/scan/" + std::to_string(i)), 404) << i;
  }
  EXPECT_EQ(From(nginx, "192.0.2.40", "/"), 200);
  EXPECT_EQ(redis_->Command({"HLEN", "warden:bl:entries"}).integer, 0);
  EXPECT_NE(nginx.Get("/metrics").body.find("warden_behaviour_events_total{rule=\"probe\"} 0"),
            std::string::npos);
}

TEST_F(BehaviourIntegrationTest, ADryRunRuleLogsAndServes) {
  NginxServer nginx(Config(
      "warden_behaviour name=probe status=404 distinct=path capacity=2 leak=1h decision=log;",
      "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(From(nginx, "192.0.2.60", "/dry/" + std::to_string(i)), 404) << i;
  }
  EXPECT_EQ(From(nginx, "192.0.2.60", "/"), 200);
  EXPECT_EQ(redis_->Command({"HLEN", "warden:bl:entries"}).integer, 0);
  auto log = nginx.ErrorLog();
  EXPECT_NE(log.find("warden behaviour dry run, would act on the client: behaviour probe: 3 "
                     "events over capacity 2 (one leaks every 60m): 404 /dry/"),
            std::string::npos)
      << log;
  EXPECT_NE(nginx.Get("/metrics")
                .body.find("warden_behaviour_decisions_total{rule=\"probe\",decision=\"log\"} 2"),
            std::string::npos);
}

TEST_F(BehaviourIntegrationTest, WatchIsInheritedAndCanBeTurnedOff) {
  NginxServer nginx(
      Config("warden_behaviour name=probe status=404 capacity=1 leak=1h bantime=1h;\n"
             "warden_watch probe;",
             "  location / { root @DIR@/html; }\n"
             "  location /quiet/ { warden_watch off; root @DIR@/html; }\n"));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(From(nginx, "192.0.2.70", "/quiet/x"), 404) << i;
  EXPECT_EQ(From(nginx, "192.0.2.70", "/"), 200);
  ASSERT_EQ(From(nginx, "192.0.2.71", "/x"), 404);
  ASSERT_EQ(From(nginx, "192.0.2.71", "/x"), 404);
  EXPECT_EQ(From(nginx, "192.0.2.71", "/"), 403) << "watched from the http level";
}

TEST_F(BehaviourIntegrationTest, AChallengeRuleChallengesTheClientOnEveryNode) {
  TempDir files("warden-behaviour");
  std::string keys = files.Write("keys", "challenge-key-0123456789abcdefghijklmnopqrstuv\n");
  std::string users = files.Write("htpasswd", "member:{PLAIN}secret\n");
  std::string rules = "warden_challenge_key " + keys +
                      ";\nwarden_behaviour name=login status=401 capacity=2 leak=1h "
                      "decision=challenge bantime=1h;";
  std::string locations =
      "  location / { root @DIR@/html; }\n"
      "  location /login/ {\n    auth_basic members;\n    auth_basic_user_file " +
      users + ";\n    root @DIR@/html;\n    try_files /index.html =404;\n  }\n";
  NginxServer a(Config(
      rules,
      "  warden_watch login;\n  warden_challenge off exempt=$http_x_api_key;\n" + locations));
  NginxServer b(Config(rules, locations));
  const std::string client = "192.0.2.80";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(From(a, client, "/login/"), 401) << i;
  auto page = a.Get("/", {{"X-Forwarded-For", client}});
  EXPECT_EQ(page.status, 403);
  EXPECT_NE(page.body.find("id=\"warden-challenge\""), std::string::npos) << page.body;
  EXPECT_EQ(From(a, "192.0.2.81", "/"), 200) << "another client";
  // A request exempt from challenges (an API client) cannot solve one: refused.
  auto api = a.Get("/", {{"X-Forwarded-For", client}, {"X-Api-Key", "k"}});
  EXPECT_EQ(api.status, 403);
  EXPECT_EQ(api.body.find("warden-challenge"), std::string::npos);
  HttpReply on_b;
  ASSERT_TRUE(PollUntil(
      [&] {
        on_b = b.Get("/", {{"X-Forwarded-For", client}});
        return on_b.status == 403;
      },
      2000ms))
      << b.ErrorLog();
  // Solving the page on b lets the client through there.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(on_b.body, m, std::regex("var nonce = \"([^\"]+)\"")));
  std::string nonce = m[1];
  auto passed = b.Get("/", {{"X-Forwarded-For", client},
                            {"Cookie", "warden_pow=" + nonce + ":" + Challenge::Solve(nonce, 16)}});
  EXPECT_EQ(passed.status, 200) << b.ErrorLog();
  EXPECT_EQ(passed.body, "ok\n");

  auto list = List();
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["entry"], client);
  EXPECT_EQ(list[0]["source"], "challenge");
  EXPECT_EQ(std::string(list[0]["reason"]).rfind("behaviour login, challenge #1: 3 events", 0), 0u)
      << list[0].dump();
  EXPECT_NE(
      a.Get("/metrics")
          .body.find("warden_behaviour_decisions_total{rule=\"login\",decision=\"challenge\"} 1"),
      std::string::npos);
}

TEST_F(BehaviourIntegrationTest, AnOperatorCanListAClientForAChallenge) {
  TempDir files("warden-behaviour");
  std::string keys = files.Write("keys", "challenge-key-0123456789abcdefghijklmnopqrstuv\n");
  NginxServer nginx(
      Config("warden_challenge_key " + keys + ";", "  location / { root @DIR@/html; }\n"));
  auto r = RunWarden({.args = {"ban", "192.0.2.85", "--source", "challenge", "--ttl", "1h"},
                      .redis = redis_->url()});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  HttpReply page;
  ASSERT_TRUE(PollUntil(
      [&] {
        page = nginx.Get("/", {{"X-Forwarded-For", "192.0.2.85"}});
        return page.status == 403;
      },
      2000ms));
  EXPECT_NE(page.body.find("id=\"warden-challenge\""), std::string::npos) << page.body;
  EXPECT_EQ(From(nginx, "192.0.2.86", "/"), 200);
}

TEST_F(BehaviourIntegrationTest, StatusShowsTheFullestBucketsAcrossTheFleet) {
  // (Without distinct=path, so that every 404 counts exactly.)
  const std::string rule = "warden_behaviour name=probe status=404 capacity=10 leak=10s;";
  NginxServer a(Config(rule, "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  NginxServer b(Config(rule, "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  for (int i = 0; i < 7; ++i) ASSERT_EQ(From(a, "192.0.2.90", "/a/" + std::to_string(i)), 404);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(From(b, "192.0.2.91", "/b/" + std::to_string(i)), 404);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(From(b, "192.0.2.92", "/c/" + std::to_string(i)), 404);
  nlohmann::json rows;
  std::string last;
  ASSERT_TRUE(PollUntil(
      [&] {
        auto r = RunWarden({.args = {"behaviour", "status", "--json"}, .redis = redis_->url()});
        last = Show(r);
        if (r.exit_code != 0) return false;
        rows = nlohmann::json::parse(r.out);
        return rows.size() == 2;
      },
      5000ms))
      << last;
  // The fullest first, from both nodes; a bucket under half full is not shown.
  EXPECT_EQ(rows[0]["rule"], "probe");
  EXPECT_EQ(rows[0]["scope"], "192.0.2.90");
  EXPECT_NEAR(rows[0]["fill"].get<double>(), 0.7, 0.05);
  EXPECT_EQ(rows[1]["scope"], "192.0.2.91");
  EXPECT_NEAR(rows[1]["fill"].get<double>(), 0.6, 0.05);
  EXPECT_FALSE(rows[0]["node"].get<std::string>().empty());
  auto table = RunWarden({.args = {"behaviour", "status"}, .redis = redis_->url()});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("probe  192.0.2.90"), std::string::npos) << table.out;
}

TEST_F(BehaviourIntegrationTest, Ipv4SubnetBansTheSlash24OnceEnoughOfItsAddressesAre) {
  NginxServer nginx(
      Config("warden_behaviour name=probe status=404 capacity=2 leak=1h bantime=1h ipv4_subnet=2;",
             "  warden_watch probe;\n  location / { root @DIR@/html; }\n"));
  for (const char* addr : {"192.0.2.100", "192.0.2.101"}) {
    for (int i = 0; i < 3; ++i) ASSERT_EQ(From(nginx, addr, "/x"), 404) << addr << " " << i;
  }
  EXPECT_EQ(From(nginx, "192.0.2.102", "/"), 403) << "the /24, without a 404 of its own";
  EXPECT_EQ(From(nginx, "198.51.100.5", "/"), 200) << "another /24";
  EXPECT_NE(nginx.ErrorLog().find("; and 192.0.2.0/24 with it"), std::string::npos)
      << nginx.ErrorLog();
  nlohmann::json subnet;
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const auto& e : List()) {
          if (e["entry"] == "192.0.2.0/24") subnet = e;
        }
        return !subnet.is_null();
      },
      2000ms));
  EXPECT_NE(std::string(subnet["reason"]).find(": 2 addresses of 192.0.2.0/24 in 60m"),
            std::string::npos)
      << subnet.dump();
}

TEST_F(BehaviourIntegrationTest, BadDirectives) {
  struct Case {
    std::string rules, server, message;
  };
  std::vector<Case> cases = {
      {"warden_behaviour status=404;", "", "must have \"name\" parameter"},
      {"warden_behaviour name=a/b status=404;", "", "invalid \"name=a/b\""},
      {"warden_behaviour name=p status=404,99;", "", "invalid \"status=404,99\""},
      {"warden_behaviour name=p status=;", "", "invalid \"status=\""},
      {"warden_behaviour name=p;", "", "it needs status= or if="},
      {"warden_behaviour name=p status=404 capacity=0;", "", "invalid capacity"},
      {"warden_behaviour name=p status=404 ipv4_subnet=1;", "", "invalid ipv4_subnet"},
      {"warden_behaviour name=p status=404 distinct=path capacity=33;", "",
       "too large for distinct=path, at most 32"},
      {"warden_behaviour name=p status=404 distinct=query;", "", "expected distinct=path"},
      {"warden_behaviour name=p status=404 leak=soon;", "", "invalid time \"leak=soon\""},
      {"warden_behaviour name=p status=404 decision=maybe;", "", "expected decision=ban"},
      {"warden_behaviour name=p status=404 decision=challenge;", "",
       "challenges: it needs \"warden_challenge_key\""},
      {"warden_behaviour name=p status=404 bantime=1h maxtime=1m;", "",
       "maxtime is shorter than bantime"},
      {"warden_behaviour name=p status=404 size=1k;", "", "invalid size"},
      {"warden_behaviour name=p status=404 colour=red;", "", "invalid parameter \"colour=red\""},
      {"warden_behaviour name=p status=404;\nwarden_behaviour name=p status=403;", "",
       "warden_behaviour \"p\" is duplicate"},
      {"", "  warden_watch nope;\n", "unknown warden_behaviour \"nope\""},
      {"warden_behaviour name=p status=404;", "  warden_watch p;\n  warden_watch p;\n",
       "is duplicate"},
  };
  for (auto& c : cases) {
    auto r = NginxServer::Test(Config(c.rules, c.server));
    EXPECT_NE(r.exit_code, 0) << c.rules;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.rules << "\n" << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << "with the line: " << r.err;
  }
  NginxServer::Options no_redis;
  no_redis.http = "warden_behaviour name=p status=404;\nserver { listen 127.0.0.1:@PORT@; }\n";
  auto r = NginxServer::Test(no_redis);
  EXPECT_NE(r.err.find("it needs \"warden_redis\" (or decision=log)"), std::string::npos) << r.err;
  no_redis.http =
      "warden_behaviour name=p status=404 decision=log;\n"
      "server { listen 127.0.0.1:@PORT@; warden_watch p; }\n";
  r = NginxServer::Test(no_redis);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace warden::test
