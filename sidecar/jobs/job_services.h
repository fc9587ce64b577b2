#pragma once

#include <cstdint>
#include <string>

#include "base/logger.h"
#include "base/metrics.h"
#include "jobs/breaker_registry.h"
#include "config/toml_reader.h"
#include "scheduler/job_run.h"
#include "storage/mysql/mysql_pool.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

// What a run of a job type may use, as `warden daemon` or `warden job run` has it
// (scheduler/job_type.h). Everything outlives the runs.
struct JobServices {
  Logger* logger = nullptr;
  Metrics* metrics = nullptr;
  BreakerRegistry* breakers = nullptr;
  // MariaDB, when one is configured (--mysql, WARDEN_MYSQL, [mysql] url); else nullptr.
  MysqlPool* pool = nullptr;
  const MysqlUrl* mysql_url = nullptr;
  int64_t mysql_connect_timeout_ms = 2000;
};

// How a run of `type` ends when it needs MariaDB and none is configured.
RunOutcome NeedsMariaDb(const std::string& type);

// The retries key of the types that run a failed run again as a whole.
std::string ParseRunRetries(TomlReader& table, JobSpec* spec);

}  // namespace warden
