#include "job_run.h"

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

const char* CancelToken::ReasonText(Reason reason) {
  switch (reason) {
    case Reason::kNone:
      return "not cancelled";
    case Reason::kTimeout:
      return "timed out";
    case Reason::kReplaced:
      return "replaced by a newer run (overrun = replace)";
    case Reason::kShutdown:
      return "the daemon is shutting down";
    case Reason::kLeaseLost:
      return "lost its lease (another sidecar may have taken over)";
    case Reason::kManual:
      break;
  }
  return "cancelled";
}

}  // namespace warden
