#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/cancel_token.h"
#include "scheduler/job_config.h"

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

// What a run says of its progress as it goes (a batch's rows done and to do, its rate and ETA):
// set by the run's thread, published by the scheduler's (`job:progress:<job>`, the console).
// The latest only.
class RunProgress {
 public:
  void Set(nlohmann::json progress) {
    std::lock_guard<std::mutex> lock(mutex_);
    latest_ = std::move(progress);
    ++version_;
  }
  // The latest, if it is newer than `*seen` (which it then updates).
  std::optional<nlohmann::json> TakeNew(uint64_t* seen) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (version_ == *seen) return std::nullopt;
    *seen = version_;
    return latest_;
  }

 private:
  mutable std::mutex mutex_;
  nlohmann::json latest_;
  uint64_t version_ = 0;
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
  std::shared_ptr<RunProgress> progress;  // always set by the scheduler
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
