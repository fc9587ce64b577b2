#include "jobs/batch_jobs.h"

#include <unistd.h>

#include <climits>

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

// A type whose run is `warden ARGS...` with the daemon's config: `add_args` reads the type's
// keys and appends the command line; `keys` lists them for the unknown-key message.
JobType BatchJobType(std::string name, std::string keys,
                     std::function<void(TomlReader&, std::vector<std::string>*)> add_args) {
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
  type.run = RunCommandAttempt;
  return type;
}

}  // namespace

JobType MembersMigrateJobType() {
  return BatchJobType("members_migrate", "args", [](TomlReader& r, std::vector<std::string>* argv) {
    argv->insert(argv->end(), {"members", "migrate", "--json"});
    if (auto extra = r.StringList("args")) argv->insert(argv->end(), extra->begin(), extra->end());
  });
}

JobType CacheWarmJobType() {
  return BatchJobType(
      "cache_warm", "cache, force", [](TomlReader& r, std::vector<std::string>* argv) {
        argv->insert(argv->end(), {"cache", "warm", "--json"});
        if (auto name = r.String("cache")) {
          const CacheConfig caches = CacheConfig::Load(r.path());
          if (caches.Find(*name) == nullptr) {
            r.Fail(r.Get("cache"), "cache", "no [[cache]] entry is named \"" + *name + "\"");
          }
          argv->push_back(*name);
        }
        if (auto force = r.Bool("force"); force && *force) argv->push_back("--force");
      });
}

JobType DedupeJobType() {
  return BatchJobType(
      "dedupe", "table, key, keep, args", [](TomlReader& r, std::vector<std::string>* argv) {
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
      });
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
