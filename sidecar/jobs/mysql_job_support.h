#pragma once

#include <memory>

#include "jobs/breaker_registry.h"
#include "jobs/job_runner.h"
#include "base/logger.h"
#include "base/metrics.h"
#include "storage/mysql/mysql_pool.h"
#include "jobs/mysql_run_history.h"
#include "config/settings.h"

namespace warden {

// What the job types need from MariaDB when it is configured (--mysql, WARDEN_MYSQL,
// [mysql] url): a connection pool, the run history, sql jobs and http_sync. Shared by
// `warden daemon` and `warden job run --standalone`.
class MysqlJobSupport {
 public:
  // nullptr when no MariaDB is configured.
  static std::unique_ptr<MysqlJobSupport> Create(const Settings& settings);

  // Fills in the history, the sql runner and the http_sync runner. This object, `logger`,
  // `metrics` and `breakers` must outlive the runner.
  void Configure(JobRunner::Deps& deps, Logger& logger, Metrics& metrics,
                 BreakerRegistry& breakers);

  MysqlPool& pool() { return *pool_; }

 private:
  MysqlUrl url_;
  int64_t connect_timeout_ms_ = 2000;
  std::unique_ptr<MysqlPool> pool_;
  std::unique_ptr<MysqlRunHistory> history_;
};

}  // namespace warden
