#include "common/circuit_breaker.h"

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

bool CircuitBreaker::Allow(int64_t now_ms) {
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now_ms < open_until_) return false;
      state_ = State::kHalfOpen;  // this caller is the trial
      return true;
    case State::kHalfOpen:
      return false;  // one trial at a time
  }
  return true;
}

void CircuitBreaker::OnSuccess() {
  state_ = State::kClosed;
  failures_ = 0;
}

void CircuitBreaker::OnFailure(int64_t now_ms) {
  if (state_ == State::kHalfOpen || ++failures_ >= settings_.failures) {
    if (state_ != State::kOpen) ++trips_;
    state_ = State::kOpen;
    open_until_ = now_ms + settings_.open_ms;
    failures_ = 0;
  }
}

CircuitBreaker::State CircuitBreaker::state(int64_t now_ms) const {
  if (state_ == State::kOpen && now_ms >= open_until_) return State::kHalfOpen;
  return state_;
}

}  // namespace warden
