#include "storage/mysql/load_throttle.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace warden {
namespace {

constexpr int64_t kMB = 1 << 20;
constexpr int64_t kMaxAge = 200 * kMB;   // Innodb_checkpoint_max_age
constexpr int64_t kFullAge = 180 * kMB;  // over 75 % of it

// A wait for a log at kFullAge, begun at 0 ms with the log's end at `lsn`.
RedoLogWait Waiting(int64_t lsn) {
  RedoLogWait wait(75);
  EXPECT_TRUE(wait.Over(kFullAge, kMaxAge));
  wait.Begin(kFullAge, lsn, 0);
  return wait;
}

TEST(RedoLogWaitTest, WaitsOnlyOverTheLimitAndNeverWhenOff) {
  RedoLogWait wait(75);
  EXPECT_FALSE(wait.Over(75, 100));  // at the limit: room enough
  EXPECT_TRUE(wait.Over(76, 100));
  EXPECT_TRUE(wait.Over(190 * kMB, kMaxAge));

  RedoLogWait off(0);
  EXPECT_FALSE(off.Over(99, 100));
}

TEST(RedoLogWaitTest, WhileInnoDBFlushesItWaitsHoweverSlowly) {
  int64_t age = kFullAge;
  int64_t lsn = 500 * kMB;
  RedoLogWait wait = Waiting(lsn);
  // The site writes 100 KB every 100 ms; InnoDB frees a megabyte of the log every 20 s.
  int64_t now = 100;
  for (; now < RedoLogWait::kMaxWaitMs; now += 100) {
    lsn += 100 * 1024;
    if (now % 20000 == 0) age -= kMB;
    ASSERT_EQ(wait.Check(age, lsn, now), "") << "at " << now << " ms";
  }
  // Ten minutes is the most it waits.
  EXPECT_EQ(wait.Check(age, lsn + kMB, now), "waited 10m for InnoDB: going on");
  EXPECT_FALSE(wait.Over(age, kMaxAge));
}

TEST(RedoLogWaitTest, WhenInnoDBDoesNotFlushItStopsAfterThirtySeconds) {
  int64_t age = kFullAge;
  int64_t lsn = 500 * kMB;
  RedoLogWait wait = Waiting(lsn);
  // The site writes a megabyte every 100 ms and the age does not fall (less than a megabyte).
  for (int64_t now = 100; now < RedoLogWait::kStuckMs; now += 100) {
    lsn += kMB;
    ASSERT_EQ(wait.Check(age - kMB / 2, lsn, now), "") << "at " << now << " ms";
  }
  EXPECT_EQ(wait.Check(age, lsn + kMB, RedoLogWait::kStuckMs),
            "InnoDB has not flushed in 30s: going on");

  // Given up: not waited for again while the age stays over the limit...
  EXPECT_FALSE(wait.Over(age, kMaxAge));
  EXPECT_FALSE(wait.Over(199 * kMB, kMaxAge));
  // ...and again once it has been back under it.
  EXPECT_FALSE(wait.Over(100 * kMB, kMaxAge));
  EXPECT_TRUE(wait.Over(age, kMaxAge));
}

TEST(RedoLogWaitTest, WhenNothingElseWritesItStopsAfterThreeSeconds) {
  const int64_t age = kFullAge;
  int64_t lsn = 500 * kMB;
  RedoLogWait wait = Waiting(lsn);
  // A trickle under 64 KB in 3 s: the server's own background writes, not a site.
  for (int64_t now = 100; now < RedoLogWait::kIdleMs; now += 100) {
    lsn += 1024;
    ASSERT_EQ(wait.Check(age, lsn, now), "") << "at " << now << " ms";
  }
  EXPECT_EQ(wait.Check(age, lsn + 1024, RedoLogWait::kIdleMs), "nothing else writes: going on");
  EXPECT_FALSE(wait.Over(age, kMaxAge));
}

TEST(RedoLogWaitTest, AWriteByAnotherClientStartsTheThreeSecondsAgain) {
  const int64_t age = kFullAge;
  int64_t lsn = 500 * kMB;
  RedoLogWait wait = Waiting(lsn);
  EXPECT_EQ(wait.Check(age, lsn, 2900), "");
  lsn += RedoLogWait::kIdleLogBytes;  // somebody wrote
  EXPECT_EQ(wait.Check(age, lsn, 3000), "");
  EXPECT_EQ(wait.Check(age, lsn, 5900), "");
  EXPECT_EQ(wait.Check(age, lsn, 6000), "nothing else writes: going on");
}

TEST(RedoLogWaitTest, EachPauseHasItsOwnClocks) {
  const int64_t age = kFullAge;
  int64_t lsn = 0;
  RedoLogWait wait = Waiting(lsn);
  for (int64_t now = 100; now <= 20000; now += 100) {
    lsn += kMB;
    ASSERT_EQ(wait.Check(age, lsn, now), "");
  }
  // The age fell under the limit: the chunks went on, and later it is over it again.
  EXPECT_FALSE(wait.Over(140 * kMB, kMaxAge));
  ASSERT_TRUE(wait.Over(age, kMaxAge));
  wait.Begin(age, lsn, 60000);
  for (int64_t now = 60100; now < 60000 + RedoLogWait::kStuckMs; now += 100) {
    lsn += kMB;
    ASSERT_EQ(wait.Check(age, lsn, now), "") << "at " << now << " ms";
  }
  EXPECT_NE(wait.Check(age, lsn + kMB, 60000 + RedoLogWait::kStuckMs), "");
}

}  // namespace
}  // namespace warden
