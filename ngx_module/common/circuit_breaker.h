#pragma once

#include <cstdint>

namespace warden {

// When a remote counts as down: `failures` consecutive failures open the breaker for
// `open_ms`, then one trial call decides.
struct BreakerSettings {
  int failures = 5;
  int64_t open_ms = 5000;
};

// Stops paying timeouts for a remote that is down. Closed: calls go through, and `failures`
// consecutive failures open it. Open: Allow() says no for `open_ms`. Then half-open: one trial
// call goes through; its success closes the breaker, its failure opens it again.
// The time is passed in, so the module (nginx's clock) and the sidecar (an injected one) share
// it; not thread-safe (the sidecar's SharedCircuitBreaker adds a lock).
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(BreakerSettings settings = {}) : settings_(settings) {}

  // May a call go out now? In half-open state only one caller gets true until it reports.
  bool Allow(int64_t now_ms);
  void OnSuccess();
  void OnFailure(int64_t now_ms);

  // An open breaker whose time is up reports half-open.
  State state(int64_t now_ms) const;
  bool open() const { return state_ != State::kClosed; }
  // When an open breaker lets a trial call through (0 when not open).
  int64_t open_until() const { return state_ == State::kOpen ? open_until_ : 0; }
  // How often it opened.
  uint64_t trips() const { return trips_; }
  static const char* StateName(State state);

 private:
  BreakerSettings settings_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t open_until_ = 0;
  uint64_t trips_ = 0;
};

}  // namespace warden
