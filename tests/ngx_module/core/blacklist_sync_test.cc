// BlacklistSync without a Redis: leadership among the workers of one node on an injected
// clock, the leader's sweep of expired entries, and one log line for an outage however long.
// The Redis endpoint is a unix socket that does not exist, so a connect fails at once, without
// any network. Following Redis itself is covered by blacklist_integration_test.
#include "core/blacklist_sync.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace warden {
namespace {

class BlacklistSyncTest : public ::testing::Test {
 protected:
  BlacklistSyncTest() : region_(BlacklistTable::RegionSize(1024)) {
    EXPECT_TRUE(table_.Attach(region_.data(), region_.size()));
  }

  // A worker's sync; `pid` must be a live process (a dead leader is taken over at once).
  std::unique_ptr<BlacklistSync> Sync(int32_t pid) {
    RedisEndpoint endpoint;
    endpoint.unix_path = "/nonexistent/warden-test/redis.sock";
    return std::make_unique<BlacklistSync>(
        endpoint, &table_, pid, [this] { return now_; }, [](redisAsyncContext*) { return false; },
        [this](LogLevel, const std::string& line) { log_.push_back(line); });
  }

  std::vector<char> region_;
  BlacklistTable table_;
  int64_t now_ = 5'000'000;
  std::vector<std::string> log_;
};

TEST_F(BlacklistSyncTest, OneLeaderPerNodeUntilItsLeaseRunsOut) {
  auto a = Sync(getpid());
  auto b = Sync(getppid());
  a->Tick();
  b->Tick();
  EXPECT_TRUE(a->leader());
  EXPECT_FALSE(b->leader());
  EXPECT_EQ(table_.leader_pid(), getpid());

  // The leader keeps its lease by ticking.
  now_ += BlacklistSync::kLeaseMs - 1;
  a->Tick();
  now_ += BlacklistSync::kLeaseMs - 1;
  b->Tick();
  EXPECT_FALSE(b->leader());

  // A leader that stops ticking (stuck, or gone without resigning) is replaced after its lease.
  now_ += BlacklistSync::kLeaseMs + 1;
  b->Tick();
  EXPECT_TRUE(b->leader());
  a->Tick();
  EXPECT_FALSE(a->leader());
}

TEST_F(BlacklistSyncTest, AWorkerThatExitsHandsLeadershipOverAtOnce) {
  auto a = Sync(getpid());
  auto b = Sync(getppid());
  a->Tick();
  ASSERT_TRUE(a->leader());
  a->Shutdown();
  EXPECT_FALSE(a->leader());
  b->Tick();  // no wait for the lease
  EXPECT_TRUE(b->leader());
  a->Tick();  // a worker that shut down never leads again
  EXPECT_FALSE(a->leader());
}

TEST_F(BlacklistSyncTest, TheLeaderFreesExpiredEntries) {
  {
    BlacklistTable::WriteBatch batch(table_, getpid());
    batch.Upsert(*Cidr::Parse("192.0.2.1"), now_ + 1000, EntrySource::kManual);
    batch.Upsert(*Cidr::Parse("192.0.2.2"), 0, EntrySource::kManual);
  }
  ASSERT_EQ(table_.entries(), 2u);
  auto a = Sync(getpid());
  a->Tick();
  EXPECT_EQ(table_.entries(), 2u);
  now_ += 1001;
  a->Tick();
  EXPECT_EQ(table_.entries(), 1u);  // the one without an expiry stays
  EXPECT_TRUE(table_.Lookup(*IpAddress::Parse("192.0.2.2"), now_).has_value());
}

TEST_F(BlacklistSyncTest, AnOutageIsLoggedOnceAndRetriedWithBackoff) {
  auto a = Sync(getpid());
  for (int i = 0; i < 100; ++i) {
    a->Tick();
    now_ += 100;
  }
  EXPECT_TRUE(a->leader());
  EXPECT_FALSE(a->connected());
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("cannot connect to redis"), std::string::npos) << log_[0];
  // Ten seconds of ticks: backoff from 100 ms up to 5 s tries a handful of times, not 100.
  EXPECT_GE(a->redis_errors(), 3u);
  EXPECT_LE(a->redis_errors(), 20u);
}

}  // namespace
}  // namespace warden
