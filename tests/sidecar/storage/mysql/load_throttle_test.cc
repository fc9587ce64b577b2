#include "storage/mysql/load_throttle.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace warden {
namespace {

constexpr int64_t kMB = 1 << 20;

TEST(RedoLogWaitTest, WaitsOnlyOverTheLimitAndNeverWhenOff) {
  RedoLogWait wait(75);
  EXPECT_FALSE(wait.Over(75, 100));  // at the limit: room enough
  EXPECT_TRUE(wait.Over(76, 100));
  EXPECT_TRUE(wait.Over(190 * kMB, 200 * kMB));

  RedoLogWait off(0);
  EXPECT_FALSE(off.Over(99, 100));
}

TEST(RedoLogWaitTest, WhileOthersWriteItWaitsThirtySecondsAtMost) {
  RedoLogWait wait(75);
  ASSERT_TRUE(wait.Over(80, 100));
  int64_t lsn = 5 * kMB;
  wait.Begin(lsn, 0);
  // The site writes a megabyte every 100 ms and InnoDB does not catch up.
  for (int64_t now = 100; now < RedoLogWait::kMaxWaitMs; now += 100) {
    lsn += kMB;
    ASSERT_EQ(wait.Check(lsn, now), "") << "at " << now << " ms";
  }
  lsn += kMB;
  const std::string why = wait.Check(lsn, RedoLogWait::kMaxWaitMs);
  EXPECT_NE(why.find("InnoDB has not flushed enough in 30s"), std::string::npos) << why;

  // Given up: not waited for again while the age stays over the limit...
  EXPECT_FALSE(wait.Over(80, 100));
  EXPECT_FALSE(wait.Over(99, 100));
  // ...and again once it has been back under it.
  EXPECT_FALSE(wait.Over(50, 100));
  EXPECT_TRUE(wait.Over(80, 100));
}

TEST(RedoLogWaitTest, WhenNothingElseWritesItStopsAfterThreeSeconds) {
  RedoLogWait wait(75);
  ASSERT_TRUE(wait.Over(80, 100));
  int64_t lsn = 5 * kMB;
  wait.Begin(lsn, 0);
  // A trickle under 64 KB in 3 s: the server's own background writes, not a site.
  for (int64_t now = 100; now < RedoLogWait::kIdleMs; now += 100) {
    lsn += 1024;
    ASSERT_EQ(wait.Check(lsn, now), "") << "at " << now << " ms";
  }
  EXPECT_EQ(wait.Check(lsn + 1024, RedoLogWait::kIdleMs), "nothing else writes: going on");
  EXPECT_FALSE(wait.Over(80, 100));
}

TEST(RedoLogWaitTest, AWriteByAnotherClientStartsTheThreeSecondsAgain) {
  RedoLogWait wait(75);
  ASSERT_TRUE(wait.Over(80, 100));
  int64_t lsn = 5 * kMB;
  wait.Begin(lsn, 0);
  EXPECT_EQ(wait.Check(lsn, 2900), "");
  lsn += RedoLogWait::kIdleLogBytes;  // somebody wrote
  EXPECT_EQ(wait.Check(lsn, 3000), "");
  EXPECT_EQ(wait.Check(lsn, 5900), "");
  EXPECT_EQ(wait.Check(lsn, 6000), "nothing else writes: going on");
}

TEST(RedoLogWaitTest, EachPauseHasItsOwnThirtySeconds) {
  RedoLogWait wait(75);
  ASSERT_TRUE(wait.Over(80, 100));
  int64_t lsn = 0;
  wait.Begin(lsn, 0);
  for (int64_t now = 100; now <= 20000; now += 100) {
    lsn += kMB;
    ASSERT_EQ(wait.Check(lsn, now), "");
  }
  // The age fell under the limit: the chunks went on, and later it is over it again.
  EXPECT_FALSE(wait.Over(60, 100));
  ASSERT_TRUE(wait.Over(80, 100));
  wait.Begin(lsn, 60000);
  for (int64_t now = 60100; now < 60000 + RedoLogWait::kMaxWaitMs; now += 100) {
    lsn += kMB;
    ASSERT_EQ(wait.Check(lsn, now), "") << "at " << now << " ms";
  }
  EXPECT_NE(wait.Check(lsn + kMB, 60000 + RedoLogWait::kMaxWaitMs), "");
}

}  // namespace
}  // namespace warden
