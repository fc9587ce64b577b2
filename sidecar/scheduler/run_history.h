#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/job_run.h"

namespace warden {

// One row of the run history.
struct RunRecord {
  int64_t id = 0;
  std::string job;
  std::string trigger;
  std::string node;
  int64_t fence = 0;
  int64_t fire_ms = 0;
  int64_t started_ms = 0;
  std::optional<int64_t> finished_ms;  // nullopt while running (or if the sidecar died)
  std::string result;                  // "running", "ok", "failed", "cancelled", "timeout"
  int64_t rows = 0;
  std::string error;
  std::string output;
};

// Where runs are recorded (MariaDB: MysqlRunHistory). Thread-safe: runs begin and end on their
// own threads. Failures throw the Error family; callers log them and carry on.
class RunHistory {
 public:
  virtual ~RunHistory() = default;
  // Records a run that just started; returns its id.
  virtual int64_t Begin(const RunRequest& request, const std::string& node, int64_t started_ms) = 0;
  virtual void Finish(int64_t id, const RunOutcome& outcome) = 0;
  // The latest runs, newest first, of one job or (empty name) of all.
  virtual std::vector<RunRecord> Recent(const std::string& job, int limit) = 0;
};

}  // namespace warden
