// The built `warden` binary against a real Redis Cluster (tests/support/redis_cluster.h):
// the blacklist commands, `warden top`, `warden status`, two daemons' job leases and purges
// while slots move under them, a slot migrated half-way (ASK, TRYAGAIN), and a killed primary
// without a replica: one line, exit 1, no hang.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/distinct_paths.h"
#include "common/redis_deployment.h"
#include "common/redis_schema.h"
#include "net/http_client.h"
#include "storage/redis/redis_connection.h"
#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/redis_cluster.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const RedisSchema kSchema("warden:", RedisSchema::Layout::kCluster);

class ClusterCliTest : public ::testing::Test {
 protected:
  // Bounded: a command that hung would be killed and fail the test's exit-code checks.
  RunResult Warden(const std::vector<std::string>& args,
                   std::optional<std::string> stdin_text = std::nullopt) {
    return RunWarden({.args = args, .redis = cluster_.url()}, std::move(stdin_text), 20s);
  }

  std::set<std::string> Listed() {
    RunResult r = Warden({"list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    std::set<std::string> entries;
    if (r.exit_code != 0) return entries;
    for (const json& e : json::parse(r.out)) entries.insert(e["entry"].get<std::string>());
    return entries;
  }

  static bool OneLine(const std::string& err) {
    return std::count(err.begin(), err.end(), '\n') == 1 && err.starts_with("warden: ");
  }

  long long Calls(size_t node, const std::string& command) {
    return cluster_.node(node).CommandCalls(command);
  }

  RedisCluster cluster_;
};

TEST_F(ClusterCliTest, BanUnbanListExportAllowAndStatus) {
  RunResult r = Warden({"ban", "192.0.2.1", "10.0.0.0/8", "--ttl", "1h", "--reason", "scan"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  r = Warden({"ban", "--file", "-"}, "203.0.113.0/24\n2001:db8::/32\n198.51.100.9\n");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  r = Warden({"allow", "198.51.100.7", "--reason", "office"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Listed(), (std::set<std::string>{"10.0.0.0/8", "192.0.2.1", "198.51.100.7",
                                             "198.51.100.9", "2001:db8::/32", "203.0.113.0/24"}));

  r = Warden({"unban", "192.0.2.1"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  r = Warden({"export", "--format", "nginx"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1),
            "allow 198.51.100.7;\ndeny 198.51.100.9;\ndeny 203.0.113.0/24;\ndeny 10.0.0.0/8;\n"
            "deny 2001:db8::/32;\n");

  // The keys are the cluster's names, in the blacklist's slot: the hash, the change stream.
  EXPECT_EQ(
      cluster_.CommandFor(kSchema.BlacklistEntries(), {"HLEN", kSchema.BlacklistEntries()}).integer,
      5);
  EXPECT_EQ(cluster_.CommandFor(kSchema.BlacklistSeq(), {"GET", kSchema.BlacklistSeq()}).str, "7");
  EXPECT_EQ(cluster_.CommandFor(kSchema.BlacklistLog(), {"XLEN", kSchema.BlacklistLog()}).integer,
            7);
  EXPECT_EQ(cluster_.CommandFor("warden:bl:entries", {"EXISTS", "warden:bl:entries"}).integer, 0);
  r = Warden({"sync", "--accept-empty"});  // a script over two of its keys
  EXPECT_EQ(r.exit_code, 0) << Show(r);

  r = Warden({"status"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  for (size_t node : cluster_.Primaries()) {
    EXPECT_NE(r.out.find(": " + cluster_.node(node).address()), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("slots 0-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blacklist:      seq 7, 5 entries"), std::string::npos) << r.out;

  // A prefix with a hash tag of its own would pin every key to one slot: refused.
  r = RunWarden({.args = {"--prefix", "{app}:", "list"}, .redis = cluster_.url()});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("hash tags"), std::string::npos) << r.err;
}

// What the nodes' traffic script writes, `warden top` reads back from the minute's slot.
TEST_F(ClusterCliTest, TopReadsWhatTheNodesWrite) {
  std::string error;
  auto deployment = RedisDeployment::Parse(cluster_.url(), &error);
  ASSERT_TRUE(deployment) << error;
  RedisConnection conn = RedisConnection::Connect(*deployment, 2000);
  RedisReply time = conn.Command({"TIME"});
  const int64_t minute = time.view()[0].integer() / 60;
  DistinctPaths paths;
  paths.Add(0x0123456789abcdefULL);
  paths.Add(0xfedcba9876543210ULL);
  std::vector<std::string> argv = {"EVAL", RedisSchema::kTrafficScript,
                                   std::to_string(RedisSchema::kTrafficFamilies.size())};
  for (const std::string& key : kSchema.TrafficKeys(minute)) argv.push_back(key);
  const std::vector<std::string> args = {
      std::to_string(minute), "7200000", "pass=9 block=3", "2",
      // address, requests, refused, country, 2xx..5xx, bytes, upstream ms, paths, top path
      // and count, user agent and count, strikes
      "192.0.2.10", "9", "3", "DE", "5", "0", "3", "1", "4096", "40", paths.ToHex(), "/login", "6",
      "curl/8", "9", "4", "2001:db8::7", "3", "0", "", "3", "0", "0", "0", "512", "0", "", "", "0",
      "", "0", "0",
      // path, requests, 5xx, upstream ms
      "/login", "6", "1", "30", "/", "6", "0", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  // Two flushes of the minute (two nodes): counts add up.
  for (int flush = 0; flush < 2; ++flush) {
    RedisReply reply = conn.Command(argv);
    ASSERT_FALSE(reply.view().is_error()) << reply.view().str();
    EXPECT_EQ(reply.view().integer(), minute);
  }

  RunResult r = Warden({"top", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0]["address"], "192.0.2.10");
  EXPECT_EQ(rows[0]["requests"], 18);
  EXPECT_EQ(rows[0]["refused"], 6);
  EXPECT_EQ(rows[0]["country"], "DE");
  EXPECT_EQ(rows[0]["distinct_paths"], 2);
  EXPECT_EQ(rows[0]["top_path"], "/login");
  EXPECT_EQ(rows[0]["user_agent"], "curl/8");
  EXPECT_EQ(rows[0]["strikes"], 4);
  EXPECT_EQ(rows[1]["address"], "2001:db8::7");
  EXPECT_EQ(rows[1]["requests"], 6);

  r = Warden({"top", "--json", "--by", "path"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0]["path"], "/");  // 12 each: by name
  EXPECT_EQ(rows[1]["path"], "/login");
  EXPECT_EQ(rows[1]["5xx"], 2);
  r = Warden({"top", "--json", "--by", "status"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("\"requests\": 16"), std::string::npos) << r.out;  // 2xx: (5 + 3) x 2
  r = Warden({"top", "--json", "--by", "country", "--window", "10m"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(json::parse(r.out)[0]["country"], "DE");
}

// A slot moved half-way under the CLI: the keys moved are asked for on the new node (ASK), a
// script over keys on both sides is refused by Redis (TRYAGAIN) and fails with one line after
// a bounded wait, and everything answers right again once the keys are together.
TEST_F(ClusterCliTest, ASlotMigratedWhileInUse) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "192.0.2.2", "--ttl", "1h"}).exit_code, 0);
  const int slot = RedisCluster::Slot(kSchema.BlacklistEntries());
  const size_t from = cluster_.OwnerOf(slot);
  const size_t to = (from + 1) % cluster_.size();
  const long long asked_before = Calls(to, "asking");

  cluster_.BeginMigration(slot, from, to);
  cluster_.MigrateKeys(slot, from, to, {kSchema.BlacklistEntries(), kSchema.BlacklistExpiry()});
  EXPECT_EQ(Listed(), (std::set<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_GT(Calls(to, "asking"), asked_before);  // HSCAN went to the new node, with ASKING
  RunResult r = Warden({"export", "--format", "plain"});
  EXPECT_EQ(r.out, "192.0.2.1\n192.0.2.2\n") << Show(r);

  r = Warden({"ban", "192.0.2.3"});  // entries, expiry there; seq, log, epoch still here
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("TRYAGAIN"), std::string::npos) << r.err;

  cluster_.MigrateKeys(slot, from, to);  // the rest: a script's keys together again
  r = Warden({"ban", "192.0.2.3"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  r = Warden({"unban", "192.0.2.1"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Listed(), (std::set<std::string>{"192.0.2.2", "192.0.2.3"}));

  cluster_.FinishMigration(slot, from, to);
  ASSERT_TRUE(cluster_.WaitForOwner(slot, to, 10s));
  EXPECT_EQ(Listed(), (std::set<std::string>{"192.0.2.2", "192.0.2.3"}));
  EXPECT_EQ(cluster_.node(to).Command({"GET", kSchema.BlacklistSeq()}).str, "4");
}

// Two daemons on the cluster run a 200 ms job and purge expired bans; the job's slot and the
// blacklist's move to other primaries meanwhile. The daemons follow (MOVED), every fire time
// runs once, and bans still expire. One serves the console: its snapshot reads the cluster.
TEST_F(ClusterCliTest, DaemonsRunEachFireTimeOnceAndPurgeWhileSlotsMove) {
  TempDir tmp("warden-cluster-daemon");
  const std::string fires = tmp.File("fires");
  const int console_port = FreePort();
  auto listen = [&](const std::string& node) {
    return node == "a" ? "127.0.0.1:" + std::to_string(console_port) : std::string("off");
  };
  auto config = [&](const std::string& node) {
    return tmp.Write(
        node + ".toml",
        "[redis]\nurl = \"" + cluster_.url() + "\"\ntimeout = \"1s\"\n[daemon]\nlisten = \"" +
            listen(node) + "\"\n" + "purge_interval = \"200ms\"\nnode = \"" + node + "\"\n" +
            "[[job]]\nname = \"tick\"\ntype = \"command\"\n" + "schedule = \"@every 200ms\"\n" +
            "command = \"echo $WARDEN_FIRE_TIME >> " + fires + "\"\n");
  };
  auto lines = [&] { return LineCount(fires); };
  auto on_list = [&](const std::string& entry) {
    return cluster_
               .CommandFor(kSchema.BlacklistEntries(),
                           {"HEXISTS", kSchema.BlacklistEntries(), entry})
               .integer == 1;
  };
  Process a = Process::Start(WardenProcessOptions({.args = {"daemon"}, .config = config("a")}));
  Process b = Process::Start(WardenProcessOptions({.args = {"daemon"}, .config = config("b")}));
  ASSERT_TRUE(PollUntil([&] { return lines() >= 5; }, 15s)) << a.Stderr() << b.Stderr();
  EXPECT_NE(a.Stderr().find("warden daemon started"), std::string::npos) << a.Stderr();
  ASSERT_EQ(Warden({"ban", "192.0.2.50", "--ttl", "1s"}).exit_code, 0);
  EXPECT_TRUE(PollUntil([&] { return !on_list("192.0.2.50"); }, 10s, 50ms)) << a.Stderr();
  // The console's snapshot: Redis answered (its heartbeat pipeline, the series script in {ts},
  // the traffic reads per minute, the nodes), and it lists its own sidecar.
  json overview;
  EXPECT_TRUE(PollUntil(
      [&] {
        HttpClient http;
        HttpClient::Request request;
        request.url = "http://127.0.0.1:" + std::to_string(console_port) + "/api/v1/overview";
        try {
          HttpResponse response = http.Send(request);
          if (response.status != 200) return false;
          overview = json::parse(response.body);
        } catch (const std::exception&) {
          return false;
        }
        return overview["redis"]["ok"] == true &&
               overview.dump().find("\"node\":\"a\"") != std::string::npos;
      },
      10s, 100ms))
      << overview.dump() << a.Stderr();
  EXPECT_EQ(cluster_.CommandFor(kSchema.TrafficWriter(), {"GET", kSchema.TrafficWriter()}).str,
            "a");

  // The job's keys and the blacklist move to the next primary, one after the other.
  for (const std::string& key : {kSchema.JobKey("tick", "claimed"), kSchema.BlacklistEntries()}) {
    const int slot = RedisCluster::Slot(key);
    const size_t to = (cluster_.OwnerOf(slot) + 1) % cluster_.size();
    cluster_.MoveSlot(slot, to);
    ASSERT_TRUE(cluster_.WaitForOwner(slot, to, 10s));
  }
  const size_t moved_at = lines();
  EXPECT_TRUE(PollUntil([&] { return lines() >= moved_at + 5; }, 15s)) << a.Stderr() << b.Stderr();
  ASSERT_EQ(Warden({"ban", "192.0.2.51", "--ttl", "1s"}).exit_code, 0);
  EXPECT_TRUE(PollUntil([&] { return !on_list("192.0.2.51"); }, 10s, 50ms))
      << a.Stderr() << b.Stderr();

  for (Process* daemon : {&a, &b}) daemon->Signal(SIGTERM);
  for (Process* daemon : {&a, &b}) EXPECT_EQ(daemon->Wait(10s), 0);
  std::vector<int64_t> ran;
  std::istringstream in(ReadFile(fires));
  for (int64_t fire = 0; in >> fire;) ran.push_back(fire);
  std::sort(ran.begin(), ran.end());
  auto twice = std::adjacent_find(ran.begin(), ran.end());
  EXPECT_EQ(twice, ran.end()) << "fire time " << *twice << " ran more than once";
  EXPECT_NE(
      cluster_.CommandFor(kSchema.JobKey("tick", "fence"), {"GET", kSchema.JobKey("tick", "fence")})
          .str,
      "");
}

// From one Redis server (the single layout) to the cluster (hash tags): the blacklist as it
// is, the ban counters with their TTL, the job fences and claims; nothing with --dry-run;
// twice is the same as once.
TEST_F(ClusterCliTest, MigrateKeysFromOneServerToTheCluster) {
  RedisServer single;
  RunResult r = RunWarden(
      {.args = {"ban", "192.0.2.1", "--ttl", "2h", "--reason", "scanner"}, .redis = single.url()});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  ASSERT_EQ(RunWarden({.args = {"allow", "198.51.100.7"}, .redis = single.url()}).exit_code, 0);
  single.Command({"SET", "warden:ab:n:api:192.0.2.9", "3", "PX", "86400000"});
  single.Command({"SET", "warden:bh:n:probe:10.0.0.0/24", "2"});
  single.Command({"SET", "warden:job:nightly:fence", "41"});
  single.Command({"SET", "warden:job:nightly:claimed", "1700000000000"});
  single.Command({"SET", "warden:job:cache_warm:home:fence", "7"});
  // Entries as `list --json` shows them, but for the seconds left (which pass meanwhile).
  auto entries = [](const std::string& out) {
    json list = json::parse(out);
    for (json& e : list) e.erase("ttl_seconds");
    return list;
  };
  const json before = entries(RunWarden({.args = {"list", "--json"}, .redis = single.url()}).out);
  ASSERT_EQ(before.size(), 2u);

  r = Warden({"migrate-keys", "--from", single.url(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out.rfind("would copy 2 blacklist entries, 2 ban counters and 2 jobs' fences", 0), 0u)
      << r.out;
  EXPECT_TRUE(Listed().empty());

  for (int run = 0; run < 2; ++run) {
    r = Warden({"migrate-keys", "--from", single.url()});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    EXPECT_EQ(r.out.rfind("copied 2 blacklist entries, 2 ban counters and 2 jobs' fences", 0), 0u)
        << r.out;
  }
  // reasons, sources, expiries and who added them, as they were
  EXPECT_EQ(entries(Warden({"list", "--json"}).out), before);
  const std::string ab = kSchema.BanCounter(RedisSchema::AutobanHistory("api", "192.0.2.9"));
  EXPECT_EQ(cluster_.CommandFor(ab, {"GET", ab}).str, "3");
  EXPECT_GT(cluster_.CommandFor(ab, {"PTTL", ab}).integer, 86000000);
  const std::string bh = kSchema.BanCounter(RedisSchema::BehaviourHistory("probe", "10.0.0.0/24"));
  EXPECT_EQ(cluster_.CommandFor(bh, {"GET", bh}).str, "2");
  const std::string fence = kSchema.JobKey("nightly", "fence");
  EXPECT_GE(std::stoll(cluster_.CommandFor(fence, {"GET", fence}).str), 41);
  const std::string claimed = kSchema.JobKey("nightly", "claimed");
  EXPECT_EQ(cluster_.CommandFor(claimed, {"GET", claimed}).str, "1700000000000");
  const std::string other = kSchema.JobKey("cache_warm:home", "fence");
  EXPECT_GE(std::stoll(cluster_.CommandFor(other, {"GET", other}).str), 7);

  r = Warden({"migrate-keys", "--from", cluster_.url()});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
}

TEST_F(ClusterCliTest, AKilledPrimaryWithoutReplicaIsOneLineAndNoHang) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1"}).exit_code, 0);
  const size_t dead = cluster_.OwnerOf(RedisCluster::Slot(kSchema.BlacklistEntries()));
  cluster_.node(dead).Kill();

  RunResult r = Warden({"ban", "192.0.2.2"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("Redis Cluster node " + cluster_.node(dead).address()), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("is unreachable"), std::string::npos) << r.err;

  // The others call the cluster down (no replica to promote): a command on their slots gets
  // CLUSTERDOWN, retried a bounded number of times, then one line. (`top` reads five minutes'
  // slots: some may be the dead node's, which is the other line.)
  ASSERT_TRUE(cluster_.WaitForState("fail", 20s));
  r = Warden({"top"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_TRUE(r.err.find("CLUSTERDOWN") != std::string::npos ||
              r.err.find("is unreachable") != std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace warden::test
