#include "scheduler/job_run.h"

namespace warden {

const char* RunTriggerName(RunTrigger trigger) {
  switch (trigger) {
    case RunTrigger::kSchedule:
      return "schedule";
    case RunTrigger::kCatchUp:
      return "catchup";
    case RunTrigger::kQueued:
      return "queued";
    case RunTrigger::kManual:
      break;
  }
  return "manual";
}

const char* RunResultName(RunResult result) {
  switch (result) {
    case RunResult::kOk:
      return "ok";
    case RunResult::kFailed:
      return "failed";
    case RunResult::kCancelled:
      return "cancelled";
    case RunResult::kTimeout:
      break;
  }
  return "timeout";
}

}  // namespace warden
