#include "core/leaky_bucket.h"

#include <gtest/gtest.h>

#include <random>

namespace warden {
namespace {

// rate=10r/s burst=N in limit_req's units.
LeakyBucketParams Params(int64_t rps, int64_t burst, int64_t delay = 0) {
  LeakyBucketParams p;
  p.rate = rps * 1000;
  p.burst = burst * 1000;
  p.delay = delay == -1 ? LeakyBucketParams::kNoDelay : delay * 1000;
  return p;
}

TEST(LeakyBucketTest, FirstRequestOfAKeyIsFree) {
  LeakyBucketState s;
  auto v = LeakyBucket::Take(Params(1, 0), &s, 1000, /*fresh=*/true);
  EXPECT_FALSE(v.rejected);
  EXPECT_EQ(v.excess, 0);
  EXPECT_EQ(s.last_ms, 1000);
}

TEST(LeakyBucketTest, NoBurstRejectsTheSecondRequestWithinTheInterval) {
  LeakyBucketState s;
  auto p = Params(10, 0);  // one request per 100 ms
  LeakyBucket::Take(p, &s, 0, true);
  auto v = LeakyBucket::Take(p, &s, 50, false);
  EXPECT_TRUE(v.rejected);
  EXPECT_EQ(v.excess, 500);  // 1000 - 10000 * 50 / 1000
  EXPECT_EQ(v.retry_after_ms, 50);
  // Rejected requests are not counted: the state is unchanged.
  EXPECT_EQ(s.excess, 0);
  EXPECT_EQ(s.last_ms, 0);
  EXPECT_FALSE(LeakyBucket::Take(p, &s, 100, false).rejected);
}

TEST(LeakyBucketTest, BurstIsQueuedWithDelayByDefault) {
  LeakyBucketState s;
  auto p = Params(10, 5);
  LeakyBucket::Take(p, &s, 0, true);
  // Five more at the same instant fit in the burst, each delayed one more interval.
  for (int i = 1; i <= 5; ++i) {
    auto v = LeakyBucket::Take(p, &s, 0, false);
    ASSERT_FALSE(v.rejected) << i;
    EXPECT_EQ(v.excess, i * 1000);
    EXPECT_EQ(v.delay_ms, i * 100);
  }
  EXPECT_TRUE(LeakyBucket::Take(p, &s, 0, false).rejected);
}

TEST(LeakyBucketTest, NodelayServesTheBurstAtOnce) {
  LeakyBucketState s;
  auto p = Params(10, 5, -1);
  LeakyBucket::Take(p, &s, 0, true);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(LeakyBucket::Take(p, &s, 0, false).delay_ms, 0);
  EXPECT_TRUE(LeakyBucket::Take(p, &s, 0, false).rejected);
}

TEST(LeakyBucketTest, DelayParameterServesThatManyWithoutDelay) {
  LeakyBucketState s;
  auto p = Params(10, 5, 2);  // delay=2
  LeakyBucket::Take(p, &s, 0, true);
  EXPECT_EQ(LeakyBucket::Take(p, &s, 0, false).delay_ms, 0);    // excess 1000
  EXPECT_EQ(LeakyBucket::Take(p, &s, 0, false).delay_ms, 0);    // excess 2000
  EXPECT_EQ(LeakyBucket::Take(p, &s, 0, false).delay_ms, 100);  // excess 3000
}

TEST(LeakyBucketTest, LeaksAtTheRate) {
  LeakyBucketState s;
  auto p = Params(2, 10);  // 2 r/s
  LeakyBucket::Take(p, &s, 0, true);
  for (int i = 0; i < 4; ++i) LeakyBucket::Take(p, &s, 0, false);
  EXPECT_EQ(s.excess, 4000);
  EXPECT_EQ(LeakyBucket::Drained(p, s, 1000), 2000);
  EXPECT_EQ(LeakyBucket::Drained(p, s, 5000), 0);
}

TEST(LeakyBucketTest, PerMinuteRates) {
  LeakyBucketState s;
  LeakyBucketParams p;
  p.rate = 30 * 1000 / 60;  // 30r/m as limit_req computes it
  LeakyBucket::Take(p, &s, 0, true);
  EXPECT_TRUE(LeakyBucket::Take(p, &s, 1000, false).rejected);
  EXPECT_FALSE(LeakyBucket::Take(p, &s, 2000, false).rejected);
}

TEST(LeakyBucketTest, ClockGoingBackwards) {
  LeakyBucketState s;
  auto p = Params(10, 0);
  LeakyBucket::Take(p, &s, 100000, true);
  // Slightly behind counts as no time passing; far behind (a jump) as 1 ms, as limit_req.
  EXPECT_TRUE(LeakyBucket::Take(p, &s, 99990, false).rejected);
  auto v = LeakyBucket::Take(p, &s, 1000, false);
  EXPECT_EQ(v.excess, 1000 - 10);
}

TEST(LeakyBucketTest, SteadyRateAtTheLimitIsAllAccepted) {
  LeakyBucketState s;
  auto p = Params(100, 0);
  LeakyBucket::Take(p, &s, 0, true);
  int accepted = 1;
  for (int t = 10; t <= 10000; t += 10) accepted += !LeakyBucket::Take(p, &s, t, false).rejected;
  EXPECT_EQ(accepted, 1001);
}

TEST(LeakyBucketTest, FloodIsCutToTheRate) {
  LeakyBucketState s;
  auto p = Params(10, 0);
  LeakyBucket::Take(p, &s, 0, true);
  int accepted = 1;
  for (int t = 1; t <= 10000; ++t) accepted += !LeakyBucket::Take(p, &s, t, false).rejected;
  EXPECT_EQ(accepted, 101);  // 10 r/s for 10 s, plus the first
}

// Exact mode sends Redis one key with a count for the requests of one loop turn: the verdicts
// Simultaneous derives from the first one's level must be those of taking them one by one.
TEST(LeakyBucketTest, SimultaneousRequestsMatchTakingThemOneByOne) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    LeakyBucketParams p = Params(1 + rng() % 50, rng() % 8, rng() % 3 == 0 ? -1 : rng() % 5);
    LeakyBucketState s{static_cast<int64_t>(rng() % 12000), 1000};
    bool fresh = rng() % 4 == 0;
    int64_t now = 1000 + rng() % 400;
    int count = 1 + static_cast<int>(rng() % 12);
    LeakyBucketVerdict first = LeakyBucket::Take(p, &s, now, fresh);
    int accepted = first.rejected ? 0 : 1;
    for (int i = 1; i < count; ++i) {
      LeakyBucketVerdict one = LeakyBucket::Take(p, &s, now, false);
      LeakyBucketVerdict same = LeakyBucket::Simultaneous(p, first.excess, i);
      ASSERT_EQ(same.rejected, one.rejected) << "trial " << trial << " request " << i;
      ASSERT_EQ(same.excess, one.excess) << "trial " << trial << " request " << i;
      ASSERT_EQ(same.delay_ms, one.delay_ms) << "trial " << trial << " request " << i;
      ASSERT_EQ(same.retry_after_ms, one.retry_after_ms) << "trial " << trial;
      accepted += one.rejected ? 0 : 1;
    }
    LeakyBucketVerdict again = LeakyBucket::Simultaneous(p, first.excess, 0);
    EXPECT_EQ(again.excess, first.excess);
    EXPECT_EQ(again.rejected, first.rejected);
    EXPECT_EQ(LeakyBucket::SimultaneousAccepted(p, first.excess, count), accepted);
  }
}

TEST(LeakyBucketTest, SimultaneousRequestsPastTheBurstSeeTheLastAcceptedLevel) {
  auto p = Params(1, 2, -1);  // burst=2 nodelay
  // A fresh key: 0, 1000, 2000 accepted; the rest refused at 3000.
  EXPECT_EQ(LeakyBucket::SimultaneousAccepted(p, 0, 10), 3);
  EXPECT_FALSE(LeakyBucket::Simultaneous(p, 0, 2).rejected);
  for (int i = 3; i < 6; ++i) {
    auto v = LeakyBucket::Simultaneous(p, 0, i);
    EXPECT_TRUE(v.rejected);
    EXPECT_EQ(v.excess, 3000);
    EXPECT_EQ(v.retry_after_ms, 1000);
  }
  EXPECT_EQ(LeakyBucket::SimultaneousAccepted(p, 2500, 4), 0);
  EXPECT_EQ(LeakyBucket::Simultaneous(p, 2500, 3).excess, 2500);
}

}  // namespace
}  // namespace warden
