// One nginx worker's state, without nginx and without Redis: an injected clock, regions in
// plain memory. What a worker decides alone (limits, autoban strikes, counters, the answers
// when Redis is not there) is checked here; its Redis side is covered by the integration tests.
#include "core/worker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <list>
#include <string>
#include <vector>

#include "core/warden_core.h"

namespace warden {
namespace {

LeakyBucketParams Burst(int64_t burst) {
  LeakyBucketParams p;
  p.rate = 1000;  // 1 r/s
  p.burst = burst * 1000;
  p.delay = LeakyBucketParams::kNoDelay;
  return p;
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest()
      : worker_(
            getpid(), [this] { return now_; }, [](redisAsyncContext*) { return false; },
            [this](LogLevel, const std::string& line) { log_.push_back(line); }) {}

  std::vector<char>& Region(size_t bytes) {
    regions_.emplace_back(bytes);
    return regions_.back();
  }
  int AddZone(const std::string& name) {
    std::vector<char>& r = Region(ShmMap::RegionSize(1024));
    return worker_.AddLimitZone(name, r.data(), r.size(), 1000, 0);
  }

  int64_t now_ = 1'000'000;
  std::vector<std::string> log_;
  std::list<std::vector<char>> regions_;  // stable addresses: the worker keeps views into them
  Worker worker_;
};

TEST_F(WorkerTest, ALocalLimitAdmitsTheBurstThenRefuses) {
  int zone = AddZone("api");
  ASSERT_EQ(zone, 0);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += !worker_.Limit(zone, "k", Burst(4), now_).rejected;
  EXPECT_EQ(admitted, 5);  // the first request and a burst of four, as limit_req admits
  LeakyBucketVerdict later = worker_.Limit(zone, "k", Burst(4), now_ + 1000);
  EXPECT_FALSE(later.rejected);  // one request leaked out in a second
  EXPECT_FALSE(worker_.Limit(zone, "other", Burst(4), now_).rejected);  // keys are apart
}

TEST_F(WorkerTest, ZonesAreApart) {
  int a = AddZone("a");
  int b = AddZone("b");
  ASSERT_EQ(b, a + 1);
  EXPECT_FALSE(worker_.Limit(a, "k", Burst(0), now_).rejected);
  EXPECT_TRUE(worker_.Limit(a, "k", Burst(0), now_).rejected);
  EXPECT_FALSE(worker_.Limit(b, "k", Burst(0), now_).rejected);
}

TEST_F(WorkerTest, ARegionTooSmallIsRefused) {
  std::vector<char>& tiny = Region(16);
  EXPECT_EQ(worker_.AddLimitZone("tiny", tiny.data(), tiny.size(), 1000, 0), -1);
  EXPECT_EQ(worker_.AddAutoban(7, AutobanRule{}, tiny.data(), tiny.size()), -1);  // no zone 7
}

TEST_F(WorkerTest, WithoutRedisAnExactLimitIsDecidedHere) {
  int zone = AddZone("exact");
  LeakyBucketVerdict v;
  bool called = false;
  auto done = [&](const LeakyBucketVerdict&, bool) { called = true; };
  // Fail open: this node's own bucket decides, nothing waits.
  EXPECT_FALSE(worker_.LimitExact(zone, "k", Burst(0), now_, false, &v, done));
  EXPECT_FALSE(v.rejected);
  EXPECT_FALSE(worker_.exact_queued());
  // Fail closed: refused with a retry hint, nothing waits either.
  EXPECT_FALSE(worker_.LimitExact(zone, "j", Burst(5), now_, true, &v, done));
  EXPECT_TRUE(v.rejected);
  EXPECT_EQ(v.retry_after_ms, 1000);
  EXPECT_FALSE(called);
}

TEST_F(WorkerTest, WithoutRedisACacheReadGoesOnAtOnce) {
  worker_.EnableCache();
  bool called = false;
  EXPECT_FALSE(
      worker_.CacheGet("page", [&](Worker::CacheResult, const CacheValue*) { called = true; }));
  EXPECT_FALSE(called);
  EXPECT_EQ(worker_.redis_timeout_ms(), 0);
}

TEST_F(WorkerTest, StrikesBanInThisNodesBlacklistAtOnce) {
  std::vector<char>& table = Region(BlacklistTable::RegionSize(1024));
  ASSERT_TRUE(worker_.AttachBlacklist(table.data(), table.size()));
  int zone = AddZone("api");
  std::vector<char>& strikes = Region(ShmMap::RegionSize(1024));
  AutobanRule rule;
  rule.strikes = 3;
  rule.findtime_ms = 60'000;
  rule.bantime_ms = 600'000;
  int autoban = worker_.AddAutoban(zone, rule, strikes.data(), strikes.size());
  ASSERT_EQ(autoban, 0);

  IpAddress addr = *IpAddress::Parse("192.0.2.7");
  EXPECT_FALSE(worker_.Strike(autoban, addr, now_));
  EXPECT_FALSE(worker_.Strike(autoban, addr, now_ + 1));
  EXPECT_FALSE(worker_.blacklist()->Lookup(addr, now_ + 2).has_value());
  EXPECT_TRUE(worker_.Strike(autoban, addr, now_ + 2));  // the third strike bans
  EXPECT_TRUE(worker_.blacklist()->Lookup(addr, now_ + 3).has_value());
  EXPECT_FALSE(worker_.blacklist()->Lookup(addr, now_ + 2 + 600'000).has_value());  // expired
  EXPECT_FALSE(worker_.blacklist()->Lookup(*IpAddress::Parse("192.0.2.8"), now_).has_value());
}

TEST_F(WorkerTest, SyncLagCountsFromACompletedLoadBeforeTheNextTick) {
  std::vector<char>& stats = Region(NodeStats::RegionSize());
  ASSERT_TRUE(worker_.AttachStats(stats.data(), stats.size(), 0));
  std::vector<char>& table = Region(BlacklistTable::RegionSize(1024));
  ASSERT_TRUE(worker_.AttachBlacklist(table.data(), table.size()));
  EXPECT_NE(worker_.Metrics(now_).find("warden_blacklist_sync_lag_seconds -1\n"),
            std::string::npos);
  {
    // What the leader's load callback commits (through its own view of the shared region),
    // before any tick notes the contact.
    BlacklistTable leader;
    ASSERT_TRUE(leader.Attach(table.data(), table.size()));
    BlacklistTable::WriteBatch batch(leader, getpid());
    batch.sync_state().loaded = true;
    batch.sync_state().loaded_at_ms = now_ - 500;
  }
  std::string text = worker_.Metrics(now_);
  EXPECT_NE(text.find("warden_blacklist_sync_lag_seconds 0.5\n"), std::string::npos) << text;
}

TEST_F(WorkerTest, MetricsCountDecisionsPerNode) {
  std::vector<char>& stats = Region(NodeStats::RegionSize());
  ASSERT_TRUE(worker_.AttachStats(stats.data(), stats.size(), 0));
  worker_.CountDecision(0);
  worker_.CountDecision(0);
  worker_.CountDecision(1);
  worker_.CountDecision(WARDEN_BLOCK, WARDEN_CAUSE_COUNTRY);
  worker_.CountDecision(WARDEN_BLOCK, WARDEN_CAUSE_AUTOBAN);
  worker_.CountDecision(WARDEN_BLOCK, WARDEN_CAUSE_AUTOBAN);
  std::string text = worker_.Metrics(now_);
  EXPECT_NE(text.find("# TYPE warden_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("warden_requests_total{decision=\"pass\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("warden_requests_total{decision=\"block\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("warden_blocked_total{cause=\"blacklist\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("warden_blocked_total{cause=\"country\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("warden_blocked_total{cause=\"autoban\"} 2"), std::string::npos) << text;

  // A second worker of the same node adds to the same totals.
  Worker other(
      getpid() + 1, [this] { return now_; }, [](redisAsyncContext*) { return false; },
      [](LogLevel, const std::string&) {});
  ASSERT_TRUE(other.AttachStats(stats.data(), stats.size(), 1));
  other.CountDecision(0);
  EXPECT_NE(worker_.Metrics(now_).find("warden_requests_total{decision=\"pass\"} 3"),
            std::string::npos);
}

TEST_F(WorkerTest, TicksWithoutRedisDoNothingHarmful) {
  AddZone("api");
  for (int i = 0; i < 5; ++i) {
    now_ += worker_.tick_ms();
    worker_.Tick();
  }
  EXPECT_GE(worker_.tick_ms(), 10);
  worker_.Shutdown();
  worker_.Shutdown();  // twice, as nginx's exit_process and the destructor may
}

}  // namespace
}  // namespace warden
