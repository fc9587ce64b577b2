#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/circuit_breaker.h"
#include "common/clock.h"

namespace warden {

// The circuit breaker (common/circuit_breaker.h) for a remote that several runs use at once:
// the same state machine under a lock, on an injected clock.
class SharedCircuitBreaker {
 public:
  using State = CircuitBreaker::State;

  SharedCircuitBreaker(BreakerSettings settings, Clock clock)
      : breaker_(settings), clock_(std::move(clock)) {}

  // May a call go out now? In half-open state only one caller gets true until it reports.
  bool Allow();
  void OnSuccess();
  void OnFailure();

  State state();
  // When an open breaker lets a trial call through (0 when not open).
  int64_t open_until() const;
  static const char* StateName(State state) { return CircuitBreaker::StateName(state); }

 private:
  mutable std::mutex mutex_;
  CircuitBreaker breaker_;
  Clock clock_;
};

// One breaker per remote ("http://host:port"), shared by every job of the daemon.
class BreakerRegistry {
 public:
  explicit BreakerRegistry(Clock clock = SystemNowMs) : clock_(std::move(clock)) {}
  std::shared_ptr<SharedCircuitBreaker> For(const std::string& remote,
                                            const BreakerSettings& settings);

 private:
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<SharedCircuitBreaker>> breakers_;
};

}  // namespace warden
