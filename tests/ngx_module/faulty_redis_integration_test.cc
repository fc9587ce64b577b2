// The module against a Redis that answers what no real one does: wrong types, wrong element
// counts, nil elements, huge bulk strings, replies cut short, and READONLY / LOADING / BUSY /
// NOSCRIPT / OOM errors, to every command of every connection (blacklist sync, exact and
// interval limits). The workers keep serving (fail open), log, never crash, and once Redis
// answers properly again the node follows it.
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "support/faulty_redis.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/server_suite.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

struct Case {
  const char* name;
  std::string answer;
  bool close_after = false;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class FaultyRedisTest : public RedisSuite, public ::testing::WithParamInterface<Case> {};

TEST_P(FaultyRedisTest, WorkersKeepServingLogAndRecover) {
  const Case& c = GetParam();
  FaultyRedis faulty(
      redis_->port(),
      [&](const std::vector<std::string>& command) {
        // AUTH and SELECT are not sent (no password, db 0): every command the module sends.
        return command.empty() ? std::string() : c.answer;
      },
      c.close_after);
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(faulty.port()) + " timeout=300ms;\n" +
           "warden_limit_zone $binary_remote_addr zone=ex:1m rate=100r/s sync=exact;\n"
           "warden_limit_zone $binary_remote_addr zone=iv:1m rate=100r/s sync=50ms;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n  warden on;\n"
           "  location / { }\n"
           "  location /ex/ { warden_limit zone=ex burst=100 nodelay; alias @DIR@/html/; }\n"
           "  location /iv/ { warden_limit zone=iv burst=100 nodelay; alias @DIR@/html/; }\n"
           "}\n";
  NginxServer nginx(o);
  const auto workers = nginx.WorkerPids();
  std::this_thread::sleep_for(300ms);  // the workers connect and meet the faults
  for (int i = 0; i < 10; ++i) {
    for (const char* path : {"/", "/ex/", "/iv/"}) {
      ASSERT_EQ(nginx.Get(path).status, 200) << c.name << " " << path << "\n" << nginx.ErrorLog();
    }
  }
  EXPECT_GT(faulty.faults(), 0) << c.name;
  EXPECT_EQ(nginx.WorkerPids(), workers) << c.name << "\n" << nginx.ErrorLog();
  EXPECT_EQ(nginx.ErrorLog().find("exited on signal"), std::string::npos) << nginx.ErrorLog();
  // Logged once, as an outage of the blacklist sync's connection.
  EXPECT_NE(nginx.ErrorLog().find("(blacklist sync; nothing waits on it, retrying)"),
            std::string::npos)
      << c.name << "\n"
      << nginx.ErrorLog();

  // Redis answers properly again: a ban reaches the node.
  faulty.SetFault(nullptr);
  RunResult ban = RunWarden({.args = {"ban", "127.0.0.1"}, .redis = redis_->url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  EXPECT_TRUE(PollUntil([&] { return nginx.Get("/").status == 403; }, 15s)) << c.name << "\n"
                                                                            << nginx.ErrorLog();
  EXPECT_EQ(nginx.WorkerPids(), workers) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Replies, FaultyRedisTest,
    ::testing::Values(Case{"WrongType", ":1\r\n"}, Case{"WrongCount", "*1\r\n:5\r\n"},
                      Case{"NilElements", "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
                      Case{"HugeInteger", "*4\r\n:9223372036854775807\r\n:-1\r\n:0\r\n:0\r\n"},
                      Case{"HugeBulkString", "$99999999999\r\nabc", true},
                      Case{"CutShort", "*4\r\n$3\r\nab", true},
                      Case{"Readonly",
                           "-READONLY You can't write against a read only replica.\r\n"},
                      Case{"Loading", "-LOADING Redis is loading the dataset in memory\r\n"},
                      Case{"Busy", "-BUSY Redis is busy running a script.\r\n"},
                      Case{"Noscript", "-NOSCRIPT No matching script.\r\n"},
                      Case{"Oom", "-OOM command not allowed when used memory > 'maxmemory'.\r\n"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace warden::test
