#include "jobs/breaker_registry.h"

namespace warden {

bool SharedCircuitBreaker::Allow() {
  std::lock_guard<std::mutex> lock(mutex_);
  return breaker_.Allow(clock_());
}

void SharedCircuitBreaker::OnSuccess() {
  std::lock_guard<std::mutex> lock(mutex_);
  breaker_.OnSuccess();
}

void SharedCircuitBreaker::OnFailure() {
  std::lock_guard<std::mutex> lock(mutex_);
  breaker_.OnFailure(clock_());
}

SharedCircuitBreaker::State SharedCircuitBreaker::state() {
  std::lock_guard<std::mutex> lock(mutex_);
  return breaker_.state(clock_());
}

int64_t SharedCircuitBreaker::open_until() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return breaker_.open_until();
}

std::shared_ptr<SharedCircuitBreaker> BreakerRegistry::For(const std::string& remote,
                                                           const BreakerSettings& settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& breaker = breakers_[remote];
  if (!breaker) breaker = std::make_shared<SharedCircuitBreaker>(settings, clock_);
  return breaker;
}

}  // namespace warden
