#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace warden::test {

// What a fault-injecting server does to one request.
enum class Fault {
  kNone,
  kError,       // 503 before doing anything
  kDrop,        // the connection is cut in the middle of the response
  kSlow,        // the answer comes after the client's transfer timeout
  kTruncated,   // source: 200 with half a JSON body
  kDuplicate,   // source: the previous page again
  kLostAnswer,  // sink: the chunk is applied, then the connection is cut
};

// Picks faults at random: each request fails with probability `rate`, the kind chosen evenly
// among the ones that apply. Thread-safe, seeded for repeatable runs.
class FaultPlan {
 public:
  explicit FaultPlan(double rate = 0, uint64_t seed = 1) : rate_(rate), rng_(seed) {}
  void set_rate(double rate) {
    std::lock_guard<std::mutex> lock(mutex_);
    rate_ = rate;
  }
  // One of `kinds` (an array of `n`) with probability rate, else kNone.
  Fault Pick(const Fault* kinds, size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (rate_ <= 0 || std::uniform_real_distribution<double>(0, 1)(rng_) >= rate_) {
      return Fault::kNone;
    }
    ++injected_;
    return kinds[std::uniform_int_distribution<size_t>(0, n - 1)(rng_)];
  }
  uint64_t injected() {
    std::lock_guard<std::mutex> lock(mutex_);
    return injected_;
  }

 private:
  std::mutex mutex_;
  double rate_;
  std::mt19937_64 rng_;
  uint64_t injected_ = 0;
};

}  // namespace warden::test
