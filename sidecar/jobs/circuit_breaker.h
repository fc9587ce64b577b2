#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"

namespace warden {

// A circuit breaker per remote (scheme://host:port): `failures` consecutive failures open it
// for `open_ms`, then one trial call decides.
struct BreakerSettings {
  int failures = 5;
  int64_t open_ms = 5000;
};

// A circuit breaker for one remote service. Closed: calls go through, and `failures`
// consecutive failures open it. Open: calls fail at once for `open_ms`. Then half-open: one
// trial call goes through; its success closes the breaker, its failure opens it again.
// Thread-safe; the clock is injected.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(BreakerSettings settings, Clock clock)
      : settings_(settings), clock_(std::move(clock)) {}

  // May a call go out now? In half-open state only one caller gets true until it reports.
  bool Allow();
  void OnSuccess();
  void OnFailure();

  State state();
  // When an open breaker lets a trial call through (0 when not open).
  int64_t open_until() const;
  static const char* StateName(State state);

 private:
  BreakerSettings settings_;
  Clock clock_;
  mutable std::mutex mutex_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t open_until_ = 0;
  bool trial_out_ = false;
};

// One breaker per remote ("http://host:port"), shared by every job of the daemon.
class BreakerRegistry {
 public:
  explicit BreakerRegistry(Clock clock = SystemNowMs) : clock_(std::move(clock)) {}
  std::shared_ptr<CircuitBreaker> For(const std::string& remote, const BreakerSettings& settings);

 private:
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<CircuitBreaker>> breakers_;
};

}  // namespace warden
