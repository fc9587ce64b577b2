#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/metrics.h"
#include "common/redis_deployment.h"
#include "config/settings.h"
#include "config/toml_reader.h"
#include "jobs/breaker_registry.h"
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
  // Redis as this process reaches it, for a run that must fix its fencing counter
  // (RedisCoordinator::ReseedFence); nullptr: none.
  const RedisDeployment* redis_url = nullptr;
  std::string prefix = "warden:";
  int64_t redis_timeout_ms = 2000;
  // What a child that runs warden itself (members_migrate, cache_warm, dedupe) needs to reach
  // the servers this process was given by flag: URLs in the environment (never in argv, where
  // `ps` shows them), the rest as flags after the program.
  std::map<std::string, std::string> child_env;
  std::vector<std::string> child_flags;
};

// Fills child_env and child_flags from this process's --redis, --mysql, --prefix and --timeout.
// What came from the environment the child inherits; what came from the config file it reads.
void PassConnectionFlags(const SettingsFlags& flags, JobServices* services);

// How a run of `type` ends when it needs MariaDB and none is configured.
RunOutcome NeedsMariaDb(const std::string& type);

// The retries key of the types that run a failed run again as a whole.
std::string ParseRunRetries(TomlReader& table, JobSpec* spec);

}  // namespace warden
