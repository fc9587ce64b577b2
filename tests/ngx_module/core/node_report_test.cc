// An nginx node's heartbeat (core/node_report.h): what the leader writes to Redis once a
// second, as plain data, with an injected clock and regions in plain memory.
#include "core/node_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <list>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/worker.h"

namespace warden {
namespace {

TEST(AppliedRingTest, KeepsTheLastAdditionsOldestFirst) {
  AppliedRing ring;
  EXPECT_TRUE(ring.Read().empty());
  ring.Add(1, 100);
  ring.Add(2, 105);
  auto two = ring.Read();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].seq, 1u);
  EXPECT_EQ(two[1].at_ms, 105);
  for (uint64_t seq = 3; seq <= 40; ++seq) ring.Add(seq, static_cast<int64_t>(seq) * 10);
  auto last = ring.Read();
  ASSERT_EQ(last.size(), NodeReport::kApplied);  // bounded, whatever the stream carries
  EXPECT_EQ(last.front().seq, 40u - NodeReport::kApplied + 1);
  EXPECT_EQ(last.back().seq, 40u);
  EXPECT_EQ(last.back().at_ms, 400);
}

TEST(NodeReportTest, JsonHasEveryFigureTheConsoleReads) {
  NodeReport r;
  r.node = "web-1";
  r.pid = 42;
  r.nginx_version = "1.22.1";
  r.workers = 2;
  r.started_ms = 1000;
  r.now_ms = 5000;
  r.blacklist.present = true;
  r.blacklist.seq = 17;
  r.blacklist.entries = 3;
  r.blacklist.last_contact_ms = 4800;
  r.applied = {{16, 4000}, {17, 4500}};
  r.redis.push_back({"blacklist sync", false, 3, "cannot connect to redis 127.0.0.1:1", 4900});
  NodeReport::Limit limit;
  limit.zone = "api";
  limit.mode = "sync=100ms";
  limit.counts[NodeReport::kPassed] = 7;
  limit.counts[NodeReport::kRejected] = 2;
  r.limits.push_back(limit);
  r.decisions = {{"pass", 7}, {"limit", 2}};
  r.redis.push_back({"autoban", true, 0, "bad \xff byte", 0});  // not ours to trust
  auto j = nlohmann::json::parse(r.ToJson());
  EXPECT_EQ(j["role"], "nginx");
  EXPECT_EQ(j["node"], "web-1");
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["workers"], 2);
  EXPECT_EQ(j["blacklist"]["seq"], 17);
  EXPECT_EQ(j["blacklist"]["sync_lag_ms"], 200);
  EXPECT_EQ(j["applied"], nlohmann::json::parse("[[16,4000],[17,4500]]"));
  EXPECT_EQ(j["redis"][0]["ok"], false);
  EXPECT_EQ(j["redis"][0]["last_error"], "cannot connect to redis 127.0.0.1:1");
  EXPECT_EQ(j["limits"][0]["zone"], "api");
  EXPECT_EQ(j["limits"][0]["passed"], 7);
  EXPECT_EQ(j["limits"][0]["rejected"], 2);
  EXPECT_EQ(j["limits"][0]["fail_open"], 0);
  EXPECT_EQ(j["decisions"]["limit"], 2);
  EXPECT_EQ(j["redis"][1]["last_error"], "bad \xef\xbf\xbd byte");

  r.blacklist.last_contact_ms = 0;
  EXPECT_EQ(nlohmann::json::parse(r.ToJson())["blacklist"]["sync_lag_ms"], -1);  // never
  r.blacklist.present = false;
  EXPECT_TRUE(nlohmann::json::parse(r.ToJson())["blacklist"].is_null());
}

// What a worker puts in its node's heartbeat: its name, its zones' counts (shared by every
// worker of the node), its shared memory, its connections and the node's decisions.
class WorkerReportTest : public ::testing::Test {
 protected:
  WorkerReportTest() : worker_(MakeWorker(getpid())) {}

  Worker MakeWorker(int32_t pid) {
    return Worker(
        pid, [this] { return now_; }, [](redisAsyncContext*) { return false; },
        [](LogLevel, const std::string&) {});
  }
  std::vector<char>& Region(size_t bytes) {
    regions_.emplace_back(bytes);
    return regions_.back();
  }

  int64_t now_ = 1'700'000'000'000;
  std::list<std::vector<char>> regions_;
  Worker worker_;
};

LeakyBucketParams OnePerSecond(int64_t burst) {
  LeakyBucketParams p;
  p.rate = 1000;
  p.burst = burst * 1000;
  p.delay = LeakyBucketParams::kNoDelay;
  return p;
}

TEST_F(WorkerReportTest, ReportsTheNodeAndWhatEachZoneDecided) {
  worker_.SetNode("edge-7", "1.22.1", 4);
  std::vector<char>& stats = Region(NodeStats::RegionSize());
  ASSERT_TRUE(worker_.AttachStats(stats.data(), stats.size(), 0));
  std::vector<char>& table = Region(BlacklistTable::RegionSize(1024));
  ASSERT_TRUE(worker_.AttachBlacklist(table.data(), table.size()));
  std::vector<char>& api = Region(ShmMap::RegionSize(1024));
  ASSERT_EQ(worker_.AddLimitZone("api", api.data(), api.size(), 1000, 0), 0);
  std::vector<char>& login = Region(ShmMap::RegionSize(1024));
  ASSERT_EQ(worker_.AddLimitZone("login", login.data(), login.size(), 1000, 250), 1);
  std::vector<char>& exact = Region(ShmMap::RegionSize(1024));
  ASSERT_EQ(worker_.AddLimitZone("pay", exact.data(), exact.size(), 1000, -1), 2);

  // "api": 3 requests for one key with a burst of 1: 2 pass, 1 is rejected.
  for (int i = 0; i < 3; ++i) {
    worker_.CountLimit(0, worker_.Limit(0, "k", OnePerSecond(1), now_), false, false);
  }
  // "login" in dry run: the refusal is counted as a dry run, not as rejected.
  for (int i = 0; i < 2; ++i) {
    worker_.CountLimit(1, worker_.Limit(1, "k", OnePerSecond(0), now_), true, false);
  }
  // "pay" (sync=exact) without Redis: decided here by the fail mode.
  LeakyBucketVerdict v;
  EXPECT_FALSE(worker_.LimitExact(2, "k", OnePerSecond(5), now_, false, &v,
                                  [](const LeakyBucketVerdict&, bool) {}));
  EXPECT_TRUE(v.unanswered);
  worker_.CountLimit(2, v, false, false);
  EXPECT_FALSE(worker_.LimitExact(2, "k", OnePerSecond(5), now_, true, &v,
                                  [](const LeakyBucketVerdict&, bool) {}));
  EXPECT_TRUE(v.rejected);
  worker_.CountLimit(2, v, false, true);
  // A delay (no nodelay) counts as delayed.
  LeakyBucketParams delayed = OnePerSecond(5);
  delayed.delay = 0;
  worker_.Limit(0, "d", delayed, now_);
  worker_.CountLimit(0, worker_.Limit(0, "d", delayed, now_), false, false);
  worker_.CountDecision(0);
  worker_.CountDecision(4);

  // Another worker of the node counts into the same zones.
  Worker other = MakeWorker(getpid() + 1);
  ASSERT_EQ(other.AddLimitZone("api", api.data(), api.size(), 1000, 0), 0);
  other.CountLimit(0, LeakyBucketVerdict{}, false, false);

  now_ += 250;
  NodeReport r = worker_.Report(now_);
  EXPECT_EQ(r.node, "edge-7");
  EXPECT_EQ(r.pid, getpid());
  EXPECT_EQ(r.nginx_version, "1.22.1");
  EXPECT_EQ(r.workers, 4);
  EXPECT_EQ(r.started_ms, now_ - 250);  // when this worker started
  EXPECT_EQ(r.now_ms, now_);
  ASSERT_TRUE(r.blacklist.present);
  EXPECT_EQ(r.blacklist.seq, 0u);
  EXPECT_EQ(r.blacklist.last_contact_ms, 0);  // never synced: no Redis here
  EXPECT_TRUE(r.applied.empty());
  EXPECT_TRUE(r.redis.empty());  // no connection without warden_redis

  ASSERT_EQ(r.limits.size(), 3u);
  EXPECT_EQ(r.limits[0].zone, "api");
  EXPECT_EQ(r.limits[0].mode, "local");
  EXPECT_EQ(r.limits[0].counts[NodeReport::kPassed], 3u);  // 2 here, 1 in the other worker
  EXPECT_EQ(r.limits[0].counts[NodeReport::kRejected], 1u);
  EXPECT_EQ(r.limits[0].counts[NodeReport::kDelayed], 1u);
  EXPECT_EQ(r.limits[0].keys, 2u);
  EXPECT_EQ(r.limits[1].mode, "sync=250ms");
  EXPECT_EQ(r.limits[1].counts[NodeReport::kPassed], 1u);
  EXPECT_EQ(r.limits[1].counts[NodeReport::kDryRun], 1u);
  EXPECT_EQ(r.limits[1].counts[NodeReport::kRejected], 0u);
  EXPECT_EQ(r.limits[2].mode, "exact");
  EXPECT_EQ(r.limits[2].counts[NodeReport::kPassed], 1u);
  EXPECT_EQ(r.limits[2].counts[NodeReport::kRejected], 1u);
  EXPECT_EQ(r.limits[2].counts[NodeReport::kFailOpen], 1u);
  EXPECT_EQ(r.limits[2].counts[NodeReport::kFailClosed], 1u);

  // Shared memory: the blacklist and each zone, with how full it is.
  ASSERT_EQ(r.shm.size(), 4u);
  EXPECT_EQ(r.shm[0].name, "warden_blacklist");
  EXPECT_EQ(r.shm[0].bytes, table.size());
  EXPECT_GT(r.shm[0].capacity, 0u);
  EXPECT_EQ(r.shm[1].name, "api");
  EXPECT_EQ(r.shm[1].used, 2u);
  EXPECT_EQ(r.shm[1].bytes, api.size());

  auto decisions = nlohmann::json::parse(r.ToJson())["decisions"];
  EXPECT_EQ(decisions["pass"], 1);
  EXPECT_EQ(decisions["limit"], 1);

  // The metrics page has the same counts.
  std::string text = worker_.Metrics(now_);
  EXPECT_NE(text.find("warden_limit_requests_total{zone=\"api\",result=\"passed\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warden_limit_requests_total{zone=\"pay\",result=\"fail_open\"} 1\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace warden
