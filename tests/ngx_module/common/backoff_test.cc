// Backoff: the ceiling, full and equal jitter.
#include "common/backoff.h"

#include <algorithm>
#include <climits>

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(Backoff, CeilingDoublesUpToTheMax) {
  Backoff b(100, 1000, Backoff::Jitter::kFull, 1);
  EXPECT_EQ(b.Ceiling(1), 100);
  EXPECT_EQ(b.Ceiling(2), 200);
  EXPECT_EQ(b.Ceiling(3), 400);
  EXPECT_EQ(b.Ceiling(4), 800);
  EXPECT_EQ(b.Ceiling(5), 1000);
  EXPECT_EQ(b.Ceiling(60), 1000);  // no overflow
  EXPECT_EQ(b.Ceiling(0), 100);
}

TEST(Backoff, FullJitterSpreadsOverTheWholeRange) {
  Backoff b(100, 10000, Backoff::Jitter::kFull, 42);
  int64_t lo = INT64_MAX, hi = 0;
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    int64_t d = b.Delay(4);  // [0, 800]
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 800);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += static_cast<double>(d);
  }
  EXPECT_LT(lo, 20);
  EXPECT_GT(hi, 780);
  EXPECT_NEAR(sum / n, 400, 20);  // uniform: the mean is half the ceiling
}

TEST(Backoff, EqualJitterNeverWaitsLessThanHalfTheCeiling) {
  Backoff b(100, 5000, Backoff::Jitter::kEqual, 7);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 20000; ++i) {
    int64_t d = b.Delay(4);  // [400, 800]
    ASSERT_GE(d, 400);
    ASSERT_LE(d, 800);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 420);
  EXPECT_GT(hi, 780);
}

TEST(Backoff, NextCountsAttemptsUntilReset) {
  Backoff b(100, 5000, Backoff::Jitter::kEqual, 7);
  EXPECT_LE(b.Next(), 100);  // attempt 1: [50, 100]
  EXPECT_GE(b.Next(), 100);  // attempt 2: [100, 200]
  const int64_t third = b.Next();  // attempt 3: [200, 400]
  EXPECT_GE(third, 200);
  EXPECT_LE(third, 400);
  b.Reset();
  EXPECT_LE(b.Next(), 100);
}

}  // namespace
}  // namespace warden
