#include "common/circuit_breaker.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailures) {
  CircuitBreaker b({3, 1000});
  b.OnFailure(0);
  b.OnFailure(1);
  EXPECT_TRUE(b.Allow(2));
  b.OnSuccess();  // a success in between resets the count
  b.OnFailure(3);
  b.OnFailure(4);
  EXPECT_TRUE(b.Allow(5));
  b.OnFailure(5);
  EXPECT_FALSE(b.Allow(6));
  EXPECT_TRUE(b.open());
  EXPECT_EQ(b.trips(), 1u);
}

TEST(CircuitBreakerTest, HalfOpenLetsOneTrialThrough) {
  CircuitBreaker b({1, 1000});
  b.OnFailure(0);
  EXPECT_FALSE(b.Allow(999));
  EXPECT_TRUE(b.Allow(1000));   // the trial
  EXPECT_FALSE(b.Allow(1001));  // no second one meanwhile
  b.OnSuccess();
  EXPECT_TRUE(b.Allow(1002));
  EXPECT_FALSE(b.open());
}

TEST(CircuitBreakerTest, FailedTrialOpensAgain) {
  CircuitBreaker b({1, 1000});
  b.OnFailure(0);
  EXPECT_TRUE(b.Allow(1000));
  b.OnFailure(1000);
  EXPECT_FALSE(b.Allow(1999));
  EXPECT_TRUE(b.Allow(2000));
}

}  // namespace
}  // namespace warden
