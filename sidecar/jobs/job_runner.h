#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "jobs/breaker_registry.h"
#include "jobs/job_services.h"
#include "scheduler/job_type.h"
#include "scheduler/job_run.h"
#include "base/logger.h"
#include "base/metrics.h"
#include "scheduler/run_history.h"

namespace warden {

// Runs one RunRequest to the end on the calling thread: records it in the history (if any),
// runs it through its job type with the job's retries (the whole run again after a failure,
// with backoff, for the types that ask for it), and returns how it ended.
class JobRunner {
 public:
  struct Deps {
    Logger* logger = nullptr;
    Metrics* metrics = nullptr;
    RunHistory* history = nullptr;  // nullptr: no history (no MariaDB configured)
    std::string node;
    const JobTypeRegistry* types = nullptr;  // where the jobs' types are found
    JobServices services;                    // what their runs may use
  };

  explicit JobRunner(Deps deps) : deps_(std::move(deps)) {}
  RunOutcome Run(const RunRequest& request);

 private:
  RunOutcome Attempt(const RunRequest& request, int64_t history_id);
  // Logs a history failure once per distinct error (a MariaDB outage would repeat it every run),
  // and once when recording works again.
  void HistoryFailed(const std::string& job, const std::string& error);
  void HistoryWorked();

  Deps deps_;
  std::mutex history_mutex_;
  std::string history_error_;
};

}  // namespace warden
