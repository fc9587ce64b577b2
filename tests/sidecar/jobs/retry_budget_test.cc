// The retries a run may still spend.
#include "jobs/retry_budget.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

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
