#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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
