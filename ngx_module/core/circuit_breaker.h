#pragma once

#include <cstdint>

namespace warden {

// Stops paying timeouts for a remote that is down: after `threshold` consecutive failures the
// circuit opens and Allow() says no for `open_ms`; then one trial call is let through
// (half-open), whose outcome closes the circuit or opens it again.
class CircuitBreaker {
 public:
  CircuitBreaker(int threshold = 5, int64_t open_ms = 5000)
      : threshold_(threshold), open_ms_(open_ms) {}

  bool Allow(int64_t now_ms);
  void Success();
  void Failure(int64_t now_ms);
  bool open() const { return state_ != State::kClosed; }
  uint64_t trips() const { return trips_; }

 private:
  enum class State { kClosed, kOpen, kHalfOpen };
  int threshold_;
  int64_t open_ms_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t opened_at_ms_ = 0;
  uint64_t trips_ = 0;
};

}  // namespace warden
