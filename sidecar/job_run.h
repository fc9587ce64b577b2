#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "job_config.h"

namespace warden {

// Why a run was started.
enum class RunTrigger {
  kSchedule,  // its fire time came
  kCatchUp,   // a fire time missed during downtime, within misfire_grace
  kQueued,    // overrun = queue/replace: the fire time that came while the job was running
  kManual,    // `warden job run`
};
const char* RunTriggerName(RunTrigger trigger);

enum class RunResult { kOk, kFailed, kCancelled, kTimeout };
const char* RunResultName(RunResult result);

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

// One run as the scheduler hands it to the executor.
struct RunRequest {
  uint64_t local_id = 0;  // this daemon's handle for the run
  std::shared_ptr<const JobSpec> job;
  int64_t fire_ms = 0;     // the schedule's fire time (manual: when it was asked for)
  int64_t planned_ms = 0;  // fire time + jitter: when it should start
  RunTrigger trigger = RunTrigger::kSchedule;
  int64_t fence = 0;  // the fencing token of the lease (grows with every lease)
  std::string lease_id;
  std::shared_ptr<CancelToken> cancel;
};

// How a run ended.
struct RunOutcome {
  RunResult result = RunResult::kOk;
  int64_t rows = 0;    // records synced, rows affected, ...
  std::string error;   // one line when not ok
  std::string output;  // command output (the end of it)
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

}  // namespace warden
