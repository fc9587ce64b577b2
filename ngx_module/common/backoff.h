#pragma once

#include <cstdint>
#include <random>

namespace warden {

// Exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
// the cap for attempt n (n = 1, 2, ...) is min(max, base * 2^(n-1)), and the wait is drawn
// under it, so a fleet of clients that failed together does not retry together.
//   kFull:  uniform in [0, cap]      (retries of a call: the sidecar's http_sync, job reruns)
//   kEqual: uniform in [cap/2, cap]  (reconnects: never sooner than half the cap)
class Backoff {
 public:
  enum class Jitter { kFull, kEqual };

  Backoff(int64_t base_ms, int64_t max_ms, Jitter jitter = Jitter::kFull,
          uint64_t seed = std::random_device{}())
      : base_ms_(base_ms), max_ms_(max_ms), jitter_(jitter), rng_(seed) {}

  // The cap for attempt `n` (no jitter).
  int64_t Ceiling(int n) const;
  // A wait for attempt `n`.
  int64_t Delay(int n);
  // The wait for the attempt after the previous Next() (the first since Reset() is attempt 1).
  int64_t Next() { return Delay(++attempts_); }
  void Reset() { attempts_ = 0; }

 private:
  int64_t base_ms_;
  int64_t max_ms_;
  Jitter jitter_;
  int attempts_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace warden
