#include "jobs/job_runner.h"

#include "common/backoff.h"
#include "common/clock.h"

namespace warden {

RunOutcome JobRunner::Attempt(const RunRequest& request, int64_t history_id) {
  const JobType* type = deps_.types ? deps_.types->Find(request.job->type) : nullptr;
  if (type == nullptr) {
    // The configuration was read with the same registry: only a wiring mistake gets here.
    RunOutcome outcome;
    outcome.result = RunResult::kFailed;
    outcome.error = "job type " + request.job->type + " is not known to this runner";
    return outcome;
  }
  return type->run(request, history_id, deps_.services);
}

void JobRunner::HistoryFailed(const std::string& job, const std::string& error) {
  std::lock_guard<std::mutex> lock(history_mutex_);
  if (error == history_error_) return;
  history_error_ = error;
  if (deps_.logger) {
    deps_.logger->Warn("cannot record runs in the history", {{"job", job}, {"error", error}});
  }
}

void JobRunner::HistoryWorked() {
  std::lock_guard<std::mutex> lock(history_mutex_);
  if (history_error_.empty()) return;
  history_error_.clear();
  if (deps_.logger) deps_.logger->Info("recording runs in the history again");
}

RunOutcome JobRunner::Run(const RunRequest& request) {
  const JobSpec& job = *request.job;
  const int64_t started = SystemNowMs();
  int64_t history_id = 0;
  if (deps_.history != nullptr) {
    try {
      history_id = deps_.history->Begin(request, deps_.node, started);
      HistoryWorked();
    } catch (const std::exception& e) {
      HistoryFailed(job.name, e.what());
    }
  }

  RunOutcome outcome;
  Backoff backoff(200, 30000);
  for (int attempt = 0;; ++attempt) {
    outcome = Attempt(request, history_id);
    const JobType* type = deps_.types ? deps_.types->Find(job.type) : nullptr;
    const bool retryable =
        type != nullptr && type->retries_runs && outcome.result == RunResult::kFailed;
    if (!retryable || attempt >= job.retries || request.cancel->cancelled()) break;
    const int64_t wait = backoff.Delay(attempt + 1);
    if (deps_.logger) {
      deps_.logger->Warn("run failed; trying again", {{"job", job.name},
                                                      {"attempt", attempt + 1},
                                                      {"retries", job.retries},
                                                      {"wait_ms", wait},
                                                      {"error", outcome.error}});
    }
    if (request.cancel->SleepFor(wait)) break;
  }
  if (request.cancel->cancelled() && outcome.result == RunResult::kFailed) {
    outcome.result = RunResult::kCancelled;
  }
  outcome.started_ms = started;
  if (outcome.finished_ms == 0) outcome.finished_ms = SystemNowMs();
  if (deps_.history != nullptr && history_id != 0) {
    try {
      RunOutcome recorded = outcome;
      if (request.cancel->reason() == CancelToken::Reason::kTimeout &&
          recorded.result != RunResult::kOk) {
        recorded.result = RunResult::kTimeout;
      }
      deps_.history->Finish(history_id, recorded);
    } catch (const std::exception& e) {
      HistoryFailed(job.name, e.what());
    }
  }
  return outcome;
}

}  // namespace warden
