#include "jobs/batch_jobs.h"

#include <unistd.h>

#include <climits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/errors.h"
#include "cache/cache_config.h"
#include "config/toml_reader.h"
#include "jobs/command_job.h"
#include "jobs/job_services.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

namespace {

std::vector<std::string> Base(const std::string& path) {
  std::vector<std::string> argv = {SelfExecutable()};
  if (!path.empty()) argv.insert(argv.end(), {"--config", path});
  return argv;
}

}  // namespace

std::string SelfExecutable() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return "warden";
  return std::string(buffer, static_cast<size_t>(n));
}

namespace {

// The rows a run's JSON lines report (`--json` output: one object a line), for the history.
using RowsOfLine = std::function<int64_t(const nlohmann::json&)>;

int64_t RowsReported(const std::string& output, const RowsOfLine& rows_of) {
  int64_t rows = 0;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    // Not JSON (a warning on stderr, a line cut by the output limit): not a report.
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    try {
      rows += rows_of(j);
    } catch (const nlohmann::json::exception&) {
      // A field of another type than expected: no count from this line.
    }
  }
  return rows;
}

// A batch's progress from a line of its `--json` output, as the console shows it: {done,
// total, rows_per_s, eta_s}; null for a line that says none. `members migrate` says it in its
// "start" (to_move) and "chunk" events (moved of total, rate, ETA).
nlohmann::json ProgressOfLine(std::string_view line) {
  if (line.empty() || line.front() != '{') return nullptr;
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return nullptr;
  try {
    const std::string event = j.value("event", "");
    if (event == "start" && j.contains("to_move")) {
      return {{"done", 0}, {"total", j.at("to_move").get<int64_t>()}};
    }
    if (event == "chunk" && j.contains("moved") && j.contains("total")) {
      return {{"done", j.at("moved").get<int64_t>()},
              {"total", j.at("total").get<int64_t>()},
              {"rows_per_s", j.value("rows_per_s", 0.0)},
              {"eta_s", j.value("eta_s", 0.0)}};
    }
  } catch (const nlohmann::json::exception&) {
    // A field of another type than expected: no progress from this line.
  }
  return nullptr;
}

// A type whose run is `warden ARGS...` with the daemon's config: `add_args` reads the type's
// keys and appends the command line; `keys` lists them for the unknown-key message;
// `rows_of` reads a line of its output for the rows the run counts in the history.
JobType BatchJobType(std::string name, std::string keys,
                     std::function<void(TomlReader&, std::vector<std::string>*)> add_args,
                     RowsOfLine rows_of) {
  JobType type;
  type.name = std::move(name);
  type.parse = [keys, add_args](TomlReader& r, JobSpec* spec) {
    auto settings = std::make_shared<CommandSettings>();
    settings->inherit_env = true;  // warden itself: the daemon's WARDEN_REDIS, WARDEN_MYSQL
    settings->argv = Base(r.path());
    add_args(r, &settings->argv);
    spec->params = std::move(settings);
    return keys + ", " + ParseRunRetries(r, spec);
  };
  type.run = [rows_of](const RunRequest& request, int64_t history_id, const JobServices& services) {
    RunOutcome outcome =
        RunCommandAttempt(request, history_id, services, [&request](std::string_view line) {
          if (!request.progress) return;
          if (nlohmann::json progress = ProgressOfLine(line); !progress.is_null()) {
            request.progress->Set(std::move(progress));
          }
        });
    outcome.rows = RowsReported(outcome.output, rows_of);
    return outcome;
  };
  return type;
}

// The "done" event's summary field `field` (members migrate, dedupe).
RowsOfLine DoneSummary(std::string field) {
  return [field](const nlohmann::json& j) -> int64_t {
    if (j.value("event", "") != "done" || !j.contains("summary")) return 0;
    return j.at("summary").value(field, int64_t{0});
  };
}

}  // namespace

JobType MembersMigrateJobType() {
  return BatchJobType(
      "members_migrate", "args",
      [](TomlReader& r, std::vector<std::string>* argv) {
        argv->insert(argv->end(), {"members", "migrate", "--json"});
        if (auto extra = r.StringList("args"))
          argv->insert(argv->end(), extra->begin(), extra->end());
      },
      DoneSummary("rows_moved"));
}

JobType CacheWarmJobType() {
  return BatchJobType(
      "cache_warm", "cache, force",
      [](TomlReader& r, std::vector<std::string>* argv) {
        argv->insert(argv->end(), {"cache", "warm", "--json"});
        if (auto name = r.String("cache")) {
          const CacheConfig caches = CacheConfig::Load(r.path());
          if (caches.Find(*name) == nullptr) {
            r.Fail(r.Get("cache"), "cache", "no [[cache]] entry is named \"" + *name + "\"");
          }
          argv->push_back(*name);
        }
        if (auto force = r.Bool("force"); force && *force) argv->push_back("--force");
      },
      // One object per entry; a recomputed one says how many rows its query returned.
      [](const nlohmann::json& j) -> int64_t {
        return j.value("outcome", "") == "computed" ? j.value("rows", int64_t{0}) : 0;
      });
}

JobType DedupeJobType() {
  return BatchJobType(
      "dedupe", "table, key, keep, args",
      [](TomlReader& r, std::vector<std::string>* argv) {
        const std::string name = *r.String("table", true);
        std::string error;
        if (!ValidSqlIdentifier(name, &error)) r.Fail(r.Get("table"), "table", error);
        argv->insert(argv->end(),
                     {"dedupe", "--json", "--table", name, "--key", *r.String("key", true)});
        if (auto keep = r.String("keep")) {
          if (*keep != "lowest-id" && *keep != "highest-id") {
            r.Fail(r.Get("keep"), "keep", "expected \"lowest-id\" or \"highest-id\"");
          }
          argv->insert(argv->end(), {"--keep", *keep});
        }
        if (auto extra = r.StringList("args"))
          argv->insert(argv->end(), extra->begin(), extra->end());
      },
      DoneSummary("deleted"));
}

std::vector<JobSpec> CacheRefreshJobs(const toml::table& root, const std::string& path,
                                      const DaemonSettings& daemon, const AlertSettings& alerts) {
  std::vector<JobSpec> jobs;
  const CacheConfig caches = CacheConfig::FromToml(root, path);
  for (const CacheSpec& cache : caches.entries) {
    if (cache.refresh.empty()) continue;
    JobSpec spec;
    spec.name = "cache:" + cache.name;
    spec.type = "cache_warm";
    spec.schedule_text = cache.refresh;
    std::string error;
    spec.schedule = Schedule::Parse(cache.refresh, nullptr, &error);
    if (!spec.schedule)
      throw UsageError(path + ": cache \"" + cache.name + "\": refresh: " + error);
    spec.lease_ms = daemon.lease_ms;
    spec.alert = alerts;
    auto settings = std::make_shared<CommandSettings>();
    settings->inherit_env = true;
    settings->argv = Base(path);
    settings->argv.insert(settings->argv.end(), {"cache", "warm", "--json", cache.name});
    spec.params = std::move(settings);
    jobs.push_back(std::move(spec));
  }
  return jobs;
}

}  // namespace warden
