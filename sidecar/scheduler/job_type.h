#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/toml_reader.h"
#include "scheduler/job_config.h"
#include "scheduler/job_run.h"

namespace warden {

// What a run may use (loggers, metrics, MariaDB, breakers): defined by the runner
// (jobs/job_services.h). The scheduler reads job types' keys but never runs one.
struct JobServices;

// One kind of [[job]]: the keys it reads and how one attempt of a run goes. The scheduler and
// its configuration know job types only through a JobTypeRegistry; jobs/job_types.cc holds
// the built-in list, one line a type.
struct JobType {
  std::string name;
  // Reads the type's own keys of a [[job]] table into `spec` (params, retries) and returns
  // them, ", "-separated, for the unknown-key message. Errors go through the reader.
  std::function<std::string(TomlReader& table, JobSpec* spec)> parse;
  // One attempt of a run; `history_id` is its row in the run history (0: none).
  std::function<RunOutcome(const RunRequest& request, int64_t history_id,
                           const JobServices& services)>
      run;
  // A failed run is run again, up to the job's `retries`; false for a type that retries each
  // of its calls itself (http_sync).
  bool retries_runs = true;
};

// Jobs that another part of warden.toml declares (a [[cache]] entry's refresh is a cache_warm
// job). Throws UsageError.
using JobSource =
    std::function<std::vector<JobSpec>(const toml::table& root, const std::string& path,
                                       const DaemonSettings& daemon, const AlertSettings& alerts)>;

class JobTypeRegistry {
 public:
  // Throws std::logic_error when the name is taken.
  void Add(JobType type);
  void AddSource(JobSource source);

  const JobType* Find(std::string_view name) const;
  // "http_sync, sql, ..." in the order the types were added.
  std::string Names() const;
  const std::vector<JobSource>& sources() const { return sources_; }

 private:
  std::vector<JobType> types_;
  std::vector<JobSource> sources_;
};

}  // namespace warden
