#include "jobs/job_services.h"

#include "config/toml_reader.h"

namespace warden {

RunOutcome NeedsMariaDb(const std::string& type) {
  RunOutcome outcome;
  outcome.result = RunResult::kFailed;
  outcome.error = "job type " + type + " needs MariaDB: set --mysql, WARDEN_MYSQL or [mysql] url";
  return outcome;
}

std::string ParseRunRetries(TomlReader& table, JobSpec* spec) {
  if (auto v = table.Integer("retries", 0, 100)) spec->retries = static_cast<int>(*v);
  return "retries";
}

}  // namespace warden
