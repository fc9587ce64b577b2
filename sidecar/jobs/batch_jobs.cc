#include "jobs/batch_jobs.h"

#include <unistd.h>

#include <climits>

#include "cache/cache_config.h"
#include "base/errors.h"
#include "storage/mysql/sql_identifier.h"
#include "config/toml_reader.h"

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

std::vector<std::string> BatchJobKeys(JobType type) {
  switch (type) {
    case JobType::kMembersMigrate:
      return {"args"};
    case JobType::kCacheWarm:
      return {"cache", "force"};
    case JobType::kDedupe:
      return {"table", "key", "keep", "args"};
    default:
      return {};
  }
}

std::string ParseBatchJob(const std::string& path, const toml::table& table,
                          const std::string& context, JobSpec* spec) {
  TomlReader r(path, table, context);
  std::vector<std::string> argv = Base(path);
  switch (spec->type) {
    case JobType::kMembersMigrate: {
      argv.insert(argv.end(), {"members", "migrate", "--json"});
      if (auto extra = r.StringList("args")) argv.insert(argv.end(), extra->begin(), extra->end());
      break;
    }
    case JobType::kCacheWarm: {
      argv.insert(argv.end(), {"cache", "warm", "--json"});
      if (auto name = r.String("cache")) {
        const CacheConfig caches = CacheConfig::Load(path);
        if (caches.Find(*name) == nullptr) {
          r.Fail(table.get("cache"), "cache", "no [[cache]] entry is named \"" + *name + "\"");
        }
        argv.push_back(*name);
      }
      if (auto force = r.Bool("force"); force && *force) argv.push_back("--force");
      break;
    }
    case JobType::kDedupe: {
      const std::string name = *r.String("table", true);
      std::string error;
      if (!ValidSqlIdentifier(name, &error)) r.Fail(table.get("table"), "table", error);
      argv.insert(argv.end(),
                  {"dedupe", "--json", "--table", name, "--key", *r.String("key", true)});
      if (auto keep = r.String("keep")) {
        if (*keep != "lowest-id" && *keep != "highest-id") {
          r.Fail(table.get("keep"), "keep", "expected \"lowest-id\" or \"highest-id\"");
        }
        argv.insert(argv.end(), {"--keep", *keep});
      }
      if (auto extra = r.StringList("args")) argv.insert(argv.end(), extra->begin(), extra->end());
      break;
    }
    default:
      break;
  }
  spec->command.argv = std::move(argv);
  std::string known;
  for (const std::string& key : BatchJobKeys(spec->type))
    known += (known.empty() ? "" : ", ") + key;
  return known;
}

std::vector<JobSpec> CacheRefreshJobs(const toml::table& root, const std::string& path,
                                      const DaemonSettings& daemon, const AlertSettings& alerts) {
  std::vector<JobSpec> jobs;
  const CacheConfig caches = CacheConfig::FromToml(root, path);
  for (const CacheSpec& cache : caches.entries) {
    if (cache.refresh.empty()) continue;
    JobSpec spec;
    spec.name = "cache:" + cache.name;
    spec.type = JobType::kCacheWarm;
    spec.schedule_text = cache.refresh;
    std::string error;
    spec.schedule = Schedule::Parse(cache.refresh, nullptr, &error);
    if (!spec.schedule)
      throw UsageError(path + ": cache \"" + cache.name + "\": refresh: " + error);
    spec.lease_ms = daemon.lease_ms;
    spec.alert = alerts;
    spec.command.argv = Base(path);
    spec.command.argv.insert(spec.command.argv.end(), {"cache", "warm", "--json", cache.name});
    jobs.push_back(std::move(spec));
  }
  return jobs;
}

}  // namespace warden
