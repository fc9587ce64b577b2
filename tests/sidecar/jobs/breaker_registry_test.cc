// SharedCircuitBreaker (the common breaker under a lock) with an injected clock: closed -> open ->
// half-open -> closed or open.
#include "jobs/breaker_registry.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

class BreakerTest : public ::testing::Test {
 protected:
  int64_t now_ = 1000;
  SharedCircuitBreaker breaker_{BreakerSettings{3, 5000}, [this] { return now_; }};
};

TEST_F(BreakerTest, OpensAfterConsecutiveFailures) {
  EXPECT_TRUE(breaker_.Allow());
  breaker_.OnFailure();
  breaker_.OnFailure();
  EXPECT_EQ(breaker_.state(), SharedCircuitBreaker::State::kClosed);
  breaker_.OnSuccess();  // a success resets the count
  breaker_.OnFailure();
  breaker_.OnFailure();
  EXPECT_TRUE(breaker_.Allow());
  breaker_.OnFailure();
  EXPECT_EQ(breaker_.state(), SharedCircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker_.Allow());
  EXPECT_EQ(breaker_.open_until(), 6000);
}

TEST_F(BreakerTest, HalfOpenLetsOneTrialThrough) {
  for (int i = 0; i < 3; ++i) breaker_.OnFailure();
  now_ = 5999;
  EXPECT_FALSE(breaker_.Allow());
  now_ = 6000;
  EXPECT_EQ(breaker_.state(), SharedCircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(breaker_.Allow());   // the trial
  EXPECT_FALSE(breaker_.Allow());  // nobody else while it is out
  breaker_.OnSuccess();
  EXPECT_EQ(breaker_.state(), SharedCircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(BreakerTest, FailedTrialOpensAgainForAnotherPeriod) {
  for (int i = 0; i < 3; ++i) breaker_.OnFailure();
  now_ = 6000;
  EXPECT_TRUE(breaker_.Allow());
  breaker_.OnFailure();  // one failure in half-open is enough
  EXPECT_EQ(breaker_.state(), SharedCircuitBreaker::State::kOpen);
  EXPECT_EQ(breaker_.open_until(), 11000);
  EXPECT_FALSE(breaker_.Allow());
}

TEST(BreakerRegistry, OnePerRemote) {
  BreakerRegistry registry([] { return int64_t{0}; });
  BreakerSettings s;
  auto a = registry.For("http://a:80", s);
  EXPECT_EQ(registry.For("http://a:80", s), a);
  EXPECT_NE(registry.For("http://b:80", s), a);
}

}  // namespace
}  // namespace warden
