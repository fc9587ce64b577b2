#pragma once

#include <mutex>

#include "storage/mysql/mysql_pool.h"
#include "scheduler/run_history.h"

namespace warden {

// RunHistory in warden_job_runs (JobTables). Output is stored up to 64 KiB (its end).
class MysqlRunHistory : public RunHistory {
 public:
  explicit MysqlRunHistory(MysqlPool& pool) : pool_(pool) {}

  int64_t Begin(const RunRequest& request, const std::string& node, int64_t started_ms) override;
  void Finish(int64_t id, const RunOutcome& outcome) override;
  std::vector<RunRecord> Recent(const std::string& job, int limit) override;

  // The same over one connection (the CLI).
  static std::vector<RunRecord> Recent(MysqlConnection& conn, const std::string& job, int limit);

 private:
  MysqlPool& pool_;
  std::once_flag tables_;
};

}  // namespace warden
