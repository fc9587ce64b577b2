#include "core/circuit_breaker.h"

namespace warden {

bool CircuitBreaker::Allow(int64_t now_ms) {
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now_ms - opened_at_ms_ < open_ms_) return false;
      state_ = State::kHalfOpen;  // this caller is the trial
      return true;
    case State::kHalfOpen:
      return false;  // one trial at a time
  }
  return true;
}

void CircuitBreaker::Success() {
  state_ = State::kClosed;
  failures_ = 0;
}

void CircuitBreaker::Failure(int64_t now_ms) {
  if (state_ == State::kHalfOpen || ++failures_ >= threshold_) {
    if (state_ != State::kOpen) ++trips_;
    state_ = State::kOpen;
    opened_at_ms_ = now_ms;
    failures_ = 0;
  }
}

}  // namespace warden
