#include "core/circuit_breaker.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailures) {
  CircuitBreaker b(3, 1000);
  b.Failure(0);
  b.Failure(1);
  EXPECT_TRUE(b.Allow(2));
  b.Success();  // a success in between resets the count
  b.Failure(3);
  b.Failure(4);
  EXPECT_TRUE(b.Allow(5));
  b.Failure(5);
  EXPECT_FALSE(b.Allow(6));
  EXPECT_TRUE(b.open());
  EXPECT_EQ(b.trips(), 1u);
}

TEST(CircuitBreakerTest, HalfOpenLetsOneTrialThrough) {
  CircuitBreaker b(1, 1000);
  b.Failure(0);
  EXPECT_FALSE(b.Allow(999));
  EXPECT_TRUE(b.Allow(1000));   // the trial
  EXPECT_FALSE(b.Allow(1001));  // no second one meanwhile
  b.Success();
  EXPECT_TRUE(b.Allow(1002));
  EXPECT_FALSE(b.open());
}

TEST(CircuitBreakerTest, FailedTrialOpensAgain) {
  CircuitBreaker b(1, 1000);
  b.Failure(0);
  EXPECT_TRUE(b.Allow(1000));
  b.Failure(1000);
  EXPECT_FALSE(b.Allow(1999));
  EXPECT_TRUE(b.Allow(2000));
}

}  // namespace
}  // namespace warden
