#include "jobs/job_services.h"

#include "config/toml_reader.h"

namespace warden {

RunOutcome NeedsMariaDb(const std::string& type) {
  RunOutcome outcome;
  outcome.result = RunResult::kFailed;
  outcome.error = "job type " + type + " needs MariaDB: set --mysql, WARDEN_MYSQL or [mysql] url";
  return outcome;
}

void PassConnectionFlags(const SettingsFlags& flags, JobServices* services) {
  if (flags.redis) services->child_env["WARDEN_REDIS"] = *flags.redis;
  if (flags.mysql) services->child_env["WARDEN_MYSQL"] = *flags.mysql;
  if (flags.prefix)
    services->child_flags.insert(services->child_flags.end(), {"--prefix", *flags.prefix});
  if (flags.timeout) {
    services->child_flags.insert(services->child_flags.end(), {"--timeout", *flags.timeout});
  }
}

std::string ParseRunRetries(TomlReader& table, JobSpec* spec) {
  if (auto v = table.Integer("retries", 0, 100)) spec->retries = static_cast<int>(*v);
  return "retries";
}

}  // namespace warden
