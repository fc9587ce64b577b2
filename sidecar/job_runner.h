#pragma once

#include <functional>
#include <memory>
#include <string>

#include "circuit_breaker.h"
#include "job_run.h"
#include "logger.h"
#include "metrics.h"
#include "run_history.h"

namespace warden {

// Runs one RunRequest to the end on the calling thread: records it in the history (if any),
// runs it by type with the job's retries (sql, command: the whole run again after a failure,
// with backoff; http_sync retries each call itself), and returns how it ended.
class JobRunner {
 public:
  // Runs one attempt of a job type that needs more than the request (MariaDB): set by the
  // daemon for sql and http_sync.
  using TypeRunner = std::function<RunOutcome(const RunRequest&, int64_t history_id)>;

  struct Deps {
    Logger* logger = nullptr;
    Metrics* metrics = nullptr;
    RunHistory* history = nullptr;  // nullptr: no history (no MariaDB configured)
    std::string node;
    TypeRunner sql;
    TypeRunner http_sync;
  };

  explicit JobRunner(Deps deps) : deps_(std::move(deps)) {}
  RunOutcome Run(const RunRequest& request);

 private:
  RunOutcome Attempt(const RunRequest& request, int64_t history_id);
  Deps deps_;
};

}  // namespace warden
