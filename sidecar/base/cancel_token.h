#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace warden {

// A cooperative stop request: the scheduler sets it (timeout, replace, shutdown, lost lease),
// the run checks it at its safe points (between chunks, between retries) and can sleep on it.
class CancelToken {
 public:
  enum class Reason { kNone, kTimeout, kReplaced, kShutdown, kLeaseLost, kManual };

  void Cancel(Reason reason) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (reason_ != Reason::kNone) return;
      reason_ = reason;
      cancelled_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  Reason reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reason_;
  }
  // Sleeps up to `ms`; returns true if cancelled meanwhile.
  bool SleepFor(int64_t ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return cancelled(); });
  }
  static const char* ReasonText(Reason reason);

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
  Reason reason_ = Reason::kNone;
};

}  // namespace warden
