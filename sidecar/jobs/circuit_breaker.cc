#include "jobs/circuit_breaker.h"

namespace warden {

const char* CircuitBreaker::StateName(State state) {
  switch (state) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      break;
  }
  return "half-open";
}

bool CircuitBreaker::Allow() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == State::kOpen) {
    if (clock_() < open_until_) return false;
    state_ = State::kHalfOpen;
    trial_out_ = false;
  }
  if (state_ == State::kHalfOpen) {
    if (trial_out_) return false;
    trial_out_ = true;
  }
  return true;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = State::kClosed;
  failures_ = 0;
  trial_out_ = false;
}

void CircuitBreaker::OnFailure() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++failures_;
  if (state_ == State::kHalfOpen || failures_ >= settings_.failures) {
    state_ = State::kOpen;
    open_until_ = clock_() + settings_.open_ms;
    trial_out_ = false;
  }
}

CircuitBreaker::State CircuitBreaker::state() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == State::kOpen && clock_() >= open_until_) return State::kHalfOpen;
  return state_;
}

int64_t CircuitBreaker::open_until() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == State::kOpen ? open_until_ : 0;
}

std::shared_ptr<CircuitBreaker> BreakerRegistry::For(const std::string& remote,
                                                     const BreakerSettings& settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& breaker = breakers_[remote];
  if (!breaker) breaker = std::make_shared<CircuitBreaker>(settings, clock_);
  return breaker;
}

}  // namespace warden
