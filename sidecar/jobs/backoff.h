#pragma once

#include <cstdint>
#include <random>


namespace warden {

// Retries of one remote call: exponential backoff with full jitter, capped, and a budget of
// retries per run shared by every call of the run.
struct RetrySettings {
  int attempts = 5;  // tries per call, the first included
  int64_t base_ms = 200;
  int64_t max_ms = 10000;
  int budget = 200;  // retries per run
};

// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter"): the wait before retry n (n = 1, 2, ...) is uniform in [0, min(max, base * 2^(n-1))],
// so a fleet of clients that failed together does not retry together.
class Backoff {
 public:
  Backoff(int64_t base_ms, int64_t max_ms, uint64_t seed = std::random_device{}())
      : base_ms_(base_ms), max_ms_(max_ms), rng_(seed) {}
  explicit Backoff(const RetrySettings& retry) : Backoff(retry.base_ms, retry.max_ms) {}

  // The cap for retry `n` (no jitter): min(max, base * 2^(n-1)).
  int64_t Ceiling(int n) const;
  // A wait for retry `n`, uniform in [0, Ceiling(n)].
  int64_t Delay(int n);

 private:
  int64_t base_ms_;
  int64_t max_ms_;
  std::mt19937_64 rng_;
};

// Retries a run may still spend, shared by every call of one run.
class RetryBudget {
 public:
  explicit RetryBudget(int retries) : left_(retries) {}
  // Takes one retry; false when none is left.
  bool Take() {
    if (left_ <= 0) return false;
    --left_;
    return true;
  }
  int left() const { return left_; }
  int used() const { return used_; }

 private:
  int left_;
  int used_ = 0;
};

}  // namespace warden
