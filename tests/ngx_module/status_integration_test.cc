// The warden_status endpoint: Prometheus text that parses and counts what happened.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_server.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

// Parses the text exposition format strictly enough to catch malformed output: every sample
// line is `name{labels} value`, every metric has # HELP and # TYPE before its samples.
std::map<std::string, double> ParsePrometheus(const std::string& text, std::string* error) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_]+="[^"]*"(,[a-zA-Z_]+="[^"]*")*\})? (-?[0-9.eE+-]+)$)");
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex type(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, double> samples;
  std::set<std::string> helped, typed;
  std::istringstream in(text);
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, help)) {
      helped.insert(m[1]);
    } else if (std::regex_match(line, m, type)) {
      typed.insert(m[1]);
    } else if (std::regex_match(line, m, sample)) {
      if (!helped.count(m[1]) || !typed.count(m[1])) {
        *error = "no HELP/TYPE before " + line;
        return {};
      }
      samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[4]);
    } else {
      *error = "malformed line: " + line;
      return {};
    }
  }
  return samples;
}

TEST(StatusIntegrationTest, MetricsParseAndCount) {
  RedisServer redis;
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n"
           "warden_autoban zone=api strikes=2 findtime=1m bantime=1h;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
           "  location / { warden_limit zone=api; root @DIR@/html; }\n"
           "  location = /warden/metrics { warden off; allow 127.0.0.1; deny all; "
           "warden_status; }\n}\n";
  NginxServer nginx(o);
  // 200, then two refusals (the second bans), then blocked.
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.Get("/").status, 429);
  EXPECT_EQ(nginx.Get("/").status, 429);
  EXPECT_EQ(nginx.Get("/").status, 403);

  std::map<std::string, double> m;
  ASSERT_TRUE(PollUntil(
      [&] {
        auto r = nginx.Get("/warden/metrics");
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        std::string error;
        m = ParsePrometheus(r.body, &error);
        EXPECT_TRUE(error.empty()) << error << "\n" << r.body;
        return m["warden_blacklist_loaded"] == 1 && m["warden_autobans_total"] == 1;
      },
      2000ms));
  EXPECT_EQ(m["warden_requests_total{decision=\"pass\"}"], 1);
  EXPECT_EQ(m["warden_requests_total{decision=\"limit\"}"], 2);
  EXPECT_EQ(m["warden_requests_total{decision=\"block\"}"], 1);
  EXPECT_EQ(m["warden_blacklist_entries"], 1);
  EXPECT_GT(m["warden_blacklist_capacity"], 1000);
  EXPECT_EQ(m["warden_limit_keys{zone=\"api\"}"], 1);
  // The zone's own outcomes: the blocked request never reached it.
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"api\",result=\"passed\"}"], 1);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"api\",result=\"rejected\"}"], 2);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"api\",result=\"delayed\"}"], 0);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"api\",result=\"fail_open\"}"], 0);
  EXPECT_GE(m["warden_blacklist_sync_lag_seconds"], 0);
  EXPECT_LT(m["warden_blacklist_sync_lag_seconds"], 3);
  EXPECT_EQ(m["warden_redis_errors_total"], 0);

  // Counters survive a reload; Redis errors show once it is gone.
  nginx.Reload();
  redis.Kill();
  ASSERT_TRUE(PollUntil(
      [&] {
        std::string error;
        m = ParsePrometheus(nginx.Get("/warden/metrics").body, &error);
        return m["warden_redis_errors_total"] > 0;
      },
      3000ms));
  EXPECT_EQ(m["warden_requests_total{decision=\"limit\"}"], 2);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"api\",result=\"rejected\"}"], 2);
}

// sync=exact without Redis: each request is decided by the fail mode, and counted so.
TEST(StatusIntegrationTest, ExactZonesCountWhatTheyDecidedWithoutRedis) {
  RedisServer redis;
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_limit_zone $binary_remote_addr zone=pay:1m rate=1r/m sync=exact;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n"
           "  location / { warden_limit zone=pay burst=10 nodelay; root @DIR@/html; }\n"
           "  location = /closed { warden_limit zone=pay burst=10 nodelay; "
           "warden_limit_fail closed; root @DIR@/html; }\n"
           "  location = /warden/metrics { warden_status; }\n}\n";
  NginxServer nginx(o);
  redis.Kill();
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.Get("/closed").status, 429);
  std::string error;
  std::map<std::string, double> m = ParsePrometheus(nginx.Get("/warden/metrics").body, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"pay\",result=\"passed\"}"], 2);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"pay\",result=\"fail_open\"}"], 2);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"pay\",result=\"rejected\"}"], 1);
  EXPECT_EQ(m["warden_limit_requests_total{zone=\"pay\",result=\"fail_closed\"}"], 1);
}

TEST(StatusIntegrationTest, WardenNodeNamesAreChecked) {
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {"warden_node \"web 1\";", "invalid node name \"web 1\": letters, digits and . _ - only"},
      {"warden_node web1;\nwarden_node web2;", "\"warden_node\" directive is duplicate"},
      {"warden_node \"\";", "invalid node name \"\": 1 to 64 characters"},
  };
  for (const Case& c : cases) {
    NginxServer::Options o;
    o.http = std::string(c.line) + "\nserver { listen 127.0.0.1:@PORT@; }\n";
    RunResult r = NginxServer::Test(o);
    EXPECT_NE(r.exit_code, 0) << c.line;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.line << "\n" << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << r.err;  // with its line
  }
  NginxServer::Options ok;
  ok.http = "warden_node edge-1.example_a;\nserver { listen 127.0.0.1:@PORT@; }\n";
  EXPECT_EQ(NginxServer::Test(ok).exit_code, 0) << NginxServer::Test(ok).err;
}

}  // namespace
}  // namespace warden::test
