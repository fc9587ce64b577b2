// `warden daemon` as a process: purging, Redis outages, signals, log formats, a Sentinel
// failover.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/sentinel_topology.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"
#include "support/warden_fixture.h"

namespace warden::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class DaemonTest : public WardenTest {
 protected:
  Process StartDaemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"daemon", "--interval", "200ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Process::Start(WardenOptions(args));
  }

  static bool LogHas(const Process& p, const std::string& text) {
    return p.Stderr().find(text) != std::string::npos;
  }

  static size_t Count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
};

TEST_F(DaemonTest, PurgesExpiredBansAndStopsOnSigterm) {
  Process daemon = StartDaemon();
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "warden daemon started"); }, seconds(5)))
      << daemon.Stderr();
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "--ttl", "1s"}).exit_code, 0);
  ASSERT_EQ(Warden({"ban", "192.0.2.2"}).exit_code, 0);
  EXPECT_TRUE(PollUntil([&] { return !OnList("192.0.2.1"); }, seconds(5), milliseconds(50)))
      << daemon.Stderr();
  EXPECT_TRUE(OnList("192.0.2.2"));
  // The deletion went through the change stream, for the nginx nodes.
  RedisValue last = Redis({"XREVRANGE", "warden:bl:log", "+", "-", "COUNT", "1"});
  ASSERT_EQ(last.elements.size(), 1u);
  EXPECT_EQ(last.elements[0].elements[1].elements[3].str, "del");
  EXPECT_EQ(last.elements[0].elements[1].elements[5].str, "192.0.2.1");
  EXPECT_TRUE(PollUntil([&] { return LogHas(daemon, "purged expired bans count=1"); }, seconds(2)))
      << daemon.Stderr();

  const auto before = std::chrono::steady_clock::now();
  daemon.Signal(SIGTERM);
  auto status = daemon.Wait(seconds(3));
  ASSERT_TRUE(status.has_value()) << "daemon ignored SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(1));
  EXPECT_TRUE(LogHas(daemon, "warden daemon stopping"));
}

TEST_F(DaemonTest, SurvivesRedisKillAndRestart) {
  Process daemon = StartDaemon();
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "warden daemon started"); }, seconds(5)));
  // Let it run a tick against the live server first.
  ASSERT_EQ(Warden({"ban", "192.0.2.1"}).exit_code, 0);

  redis_->Kill();
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "redis unavailable"); }, seconds(5)))
      << daemon.Stderr();
  // It stays up through several failed reconnect attempts (backoff 100ms, 200ms, 400ms...).
  EXPECT_FALSE(PollUntil([&] { return !daemon.Running(); }, milliseconds(700))) << daemon.Stderr();

  redis_->Restart();
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "redis connection restored"); }, seconds(8)))
      << daemon.Stderr();
  EXPECT_EQ(Count(daemon.Stderr(), "redis unavailable"), 1u) << daemon.Stderr();

  // And it works again: a short ban is purged.
  ASSERT_EQ(Warden({"ban", "192.0.2.9", "--ttl", "1s"}).exit_code, 0);
  EXPECT_TRUE(PollUntil([&] { return HashLen() == 0; }, seconds(5), milliseconds(50)))
      << daemon.Stderr();

  daemon.Signal(SIGTERM);
  auto status = daemon.Wait(seconds(3));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST_F(DaemonTest, SigintWhileRedisIsDownExitsZero) {
  redis_->Kill();
  Process daemon = StartDaemon();
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "redis unavailable"); }, seconds(5)))
      << daemon.Stderr();
  daemon.Signal(SIGINT);
  auto status = daemon.Wait(seconds(3));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST_F(DaemonTest, JsonLogLines) {
  Process daemon = StartDaemon({"--log-format", "json"});
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "warden daemon started"); }, seconds(5)));
  daemon.Signal(SIGTERM);
  ASSERT_EQ(daemon.Wait(seconds(3)), 0);
  const std::string log = daemon.Stderr();
  const auto lines = JsonLines(log);
  for (const auto& j : lines) {
    EXPECT_TRUE(j.contains("time"));
    EXPECT_TRUE(j.contains("level"));
    EXPECT_TRUE(j.contains("msg"));
  }
  EXPECT_EQ(lines.size(), 2u);  // started, stopping
  EXPECT_EQ(Count(log, "\n"), 2u) << "every line is JSON: " << log;
}

TEST_F(DaemonTest, BadSettingsExitTwoBeforeStarting) {
  RunResult r = Warden({"daemon", "--interval", "soon"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  r = test::Run(WardenOptions({"--redis", "redis://:x", "daemon"}, false));
  EXPECT_EQ(r.exit_code, 2) << Show(r);
}

// A password given on the command line is not in the process's command line (ps, /proc).
TEST_F(DaemonTest, PasswordIsHiddenFromPs) {
  const std::string secret = "pS-s3cret-9";
  Process daemon = Process::Start(
      WardenOptions({"--redis",
                     "redis://warden:" + secret + "@127.0.0.1:" + std::to_string(redis_->port()) +
                         "/0?password=" + secret + "&db=0",
                     "daemon", "--interval", "200ms"},
                    false));
  // It cannot log in (the test Redis has no such user): it keeps retrying, and says why.
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "refused the credentials"); }, seconds(10)))
      << daemon.Stderr();
  std::string cmdline = ReadFile("/proc/" + std::to_string(daemon.pid()) + "/cmdline");
  EXPECT_EQ(cmdline.find(secret), std::string::npos) << cmdline;
  EXPECT_NE(cmdline.find("redis://warden:xxxxxxxxxxx@127.0.0.1"), std::string::npos) << cmdline;
  EXPECT_EQ(daemon.Stderr().find(secret), std::string::npos) << daemon.Stderr();
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(10)), 0);
}

// Two daemons on a Sentinel deployment run a 200 ms job; the primary is killed (kill -9) in the
// middle. Both follow the promotion without a restart or a config change, the job runs again
// after it, and no fire time runs twice (claims are acknowledged by the replica before a run).
TEST(DaemonSentinelTest, SchedulerFollowsAFailoverAndRunsEachFireTimeOnce) {
  SentinelTopology topo;
  TempDir tmp("warden-daemon-sentinel");
  const std::string fires = tmp.File("fires");
  const int ports[] = {FreePort(), FreePort()};
  auto config = [&](const std::string& node, int port) {
    return tmp.Write(node + ".toml",
                     "[redis]\nurl = \"" + topo.url() + "\"\ntimeout = \"1s\"\n[daemon]\n" +
                         "listen = \"127.0.0.1:" + std::to_string(port) + "\"\nnode = \"" + node +
                         "\"\n" + "[[job]]\nname = \"tick\"\ntype = \"command\"\n" +
                         "schedule = \"@every 200ms\"\n" +
                         "command = \"echo $WARDEN_FIRE_TIME >> " + fires + "\"\n");
  };
  auto lines = [&] { return LineCount(fires); };
  Process a =
      Process::Start(WardenProcessOptions({.args = {"daemon"}, .config = config("a", ports[0])}));
  Process b =
      Process::Start(WardenProcessOptions({.args = {"daemon"}, .config = config("b", ports[1])}));
  ASSERT_TRUE(PollUntil([&] { return lines() >= 5; }, seconds(15))) << a.Stderr() << b.Stderr();

  topo.KillPrimary();
  ASSERT_TRUE(topo.WaitForPrimary(topo.replica().address(), seconds(30)));
  const size_t at_promotion = lines();
  // Runs resume on the new primary (the daemons reconnect with backoff, at most 5 s).
  EXPECT_TRUE(PollUntil([&] { return lines() >= at_promotion + 5; }, seconds(20)))
      << a.Stderr() << b.Stderr();
  // Their metrics: both connected again (each after its backoff, at most 5 s); the one that
  // reached the new primary first counted the failover.
  std::string pages;
  EXPECT_TRUE(PollUntil(
      [&] {
        pages.clear();
        int connected = 0, failovers = 0;
        for (int port : ports) {
          HttpClient http;
          HttpClient::Request request;
          request.url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
          const std::string page = http.Send(request).body;
          pages += page;
          connected += page.find("warden_redis_connected 1") != std::string::npos;
          failovers += page.find("warden_redis_failovers_seen 1") != std::string::npos;
        }
        return connected == 2 && failovers == 1;
      },
      seconds(15), milliseconds(200)))
      << pages;
  for (Process* daemon : {&a, &b}) daemon->Signal(SIGTERM);
  for (Process* daemon : {&a, &b}) EXPECT_EQ(daemon->Wait(seconds(10)), 0);

  // Every fire time once: sorted, no two lines alike.
  std::vector<int64_t> ran;
  std::istringstream in(ReadFile(fires));
  for (int64_t fire = 0; in >> fire;) ran.push_back(fire);
  std::sort(ran.begin(), ran.end());
  auto twice = std::adjacent_find(ran.begin(), ran.end());
  EXPECT_EQ(twice, ran.end()) << "fire time " << *twice << " ran more than once";
  // Someone saw the failover and said so.
  EXPECT_TRUE(a.Stderr().find("redis primary changed (failover)") != std::string::npos ||
              b.Stderr().find("redis primary changed (failover)") != std::string::npos)
      << a.Stderr() << b.Stderr();
}

// A manual failover (SENTINEL FAILOVER): the old primary stays up, and answers as a primary
// until the Sentinels turn it into a replica. The daemon moves when the Sentinels announce the
// new primary (+switch-master, on its subscription), not at its first command that fails
// there: it reaches the new primary and logs no outage.
TEST(DaemonSentinelTest, FollowsSwitchMasterBeforeAnyCommandFails) {
  SentinelTopology topo;
  Process daemon = Process::Start(
      WardenProcessOptions({.args = {"daemon", "--interval", "200ms"}, .redis = topo.url()}));
  auto recorded_primary = [](RedisServer& node) {
    return node.Command({"GET", "warden:topology:primary"}).str;
  };
  ASSERT_TRUE(PollUntil([&] { return !recorded_primary(topo.primary()).empty(); }, seconds(15)))
      << daemon.Stderr();
  // Subscribed on one of the Sentinels.
  ASSERT_TRUE(PollUntil(
      [&] {
        for (size_t i = 0; i < 3; ++i) {
          if (topo.sentinel(i).Command({"CLIENT", "LIST"}).str.find("cmd=subscribe") !=
              std::string::npos) {
            return true;
          }
        }
        return false;
      },
      seconds(15)))
      << daemon.Stderr();

  ASSERT_EQ(topo.sentinel(0).Command({"SENTINEL", "FAILOVER", SentinelTopology::kMaster}).str,
            "OK");
  ASSERT_TRUE(topo.WaitForPrimary(topo.replica().address(), seconds(30)));
  EXPECT_TRUE(PollUntil(
      [&] {
        return daemon.Stderr().find("redis primary switched by the Sentinels") != std::string::npos;
      },
      seconds(10)))
      << daemon.Stderr();
  // On the new primary: the daemon recorded it there.
  EXPECT_TRUE(PollUntil(
      [&] { return recorded_primary(topo.replica()) == topo.replica().address(); }, seconds(10)))
      << daemon.Stderr();
  // The old primary becomes a replica meanwhile (READONLY for a client still on it); purging
  // every 200 ms, the daemon would have met it.
  std::this_thread::sleep_for(seconds(3));
  EXPECT_EQ(daemon.Stderr().find("redis unavailable"), std::string::npos) << daemon.Stderr();
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(10)), 0) << daemon.Stderr();
}

}  // namespace
}  // namespace warden::test
