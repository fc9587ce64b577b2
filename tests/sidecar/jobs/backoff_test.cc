// Backoff with full jitter and the per-run retry budget.
#include "jobs/backoff.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(Backoff, CeilingDoublesUpToTheMax) {
  Backoff b(100, 1000, 1);
  EXPECT_EQ(b.Ceiling(1), 100);
  EXPECT_EQ(b.Ceiling(2), 200);
  EXPECT_EQ(b.Ceiling(3), 400);
  EXPECT_EQ(b.Ceiling(4), 800);
  EXPECT_EQ(b.Ceiling(5), 1000);
  EXPECT_EQ(b.Ceiling(60), 1000);  // no overflow
  EXPECT_EQ(b.Ceiling(0), 100);
}

TEST(Backoff, FullJitterSpreadsOverTheWholeRange) {
  Backoff b(100, 10000, 42);
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

TEST(RetryBudget, RunsOut) {
  RetryBudget budget(2);
  EXPECT_TRUE(budget.Take());
  EXPECT_TRUE(budget.Take());
  EXPECT_FALSE(budget.Take());
  EXPECT_EQ(budget.left(), 0);
  RetryBudget none(0);
  EXPECT_FALSE(none.Take());
}

}  // namespace
}  // namespace warden
