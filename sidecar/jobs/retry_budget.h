#pragma once

#include <cstdint>

namespace warden {

// Retries of one remote call: exponential backoff with full jitter, capped, and a budget of
// retries per run shared by every call of the run.
struct RetrySettings {
  int attempts = 5;  // tries per call, the first included
  int64_t base_ms = 200;
  int64_t max_ms = 10000;
  int budget = 200;  // retries per run
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
