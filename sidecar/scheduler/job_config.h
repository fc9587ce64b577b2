#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/schedule.h"

namespace warden {

// What to do with a fire time that comes while an earlier run of the job still goes on.
enum class OverrunPolicy {
  kSkip,     // drop the new fire time (default)
  kQueue,    // run once more right after the current run; further fire times are dropped
  kReplace,  // ask the current run to stop at its next safe point, then run the new one
  kAllow,    // run side by side, up to max_concurrent runs
};
const char* OverrunPolicyName(OverrunPolicy policy);

// members_migrate, cache_warm and dedupe run the warden binary itself (batch_jobs.h).
enum class JobType { kHttpSync, kSql, kCommand, kMembersMigrate, kCacheWarm, kDedupe };
const char* JobTypeName(JobType type);

// Retries of one remote call: exponential backoff with full jitter, capped, and a budget of
// retries per run shared by every call of the run.
struct RetrySettings {
  int attempts = 5;  // tries per call, the first included
  int64_t base_ms = 200;
  int64_t max_ms = 10000;
  int budget = 200;  // retries per run
};

// A circuit breaker per remote (scheme://host:port): `failures` consecutive failures open it
// for `open_ms`, then one trial call decides.
struct BreakerSettings {
  int failures = 5;
  int64_t open_ms = 5000;
};

struct AlertSettings {
  std::string webhook;  // empty: alerts are only logged
  int after_failures = 3;
  bool slack = false;  // a Slack-compatible body ({"text": ...}) instead of Warden's JSON
};

struct HttpSyncSettings {
  enum class Pagination { kCursor, kOffset };
  // Service A.
  std::string source_url;
  Pagination pagination = Pagination::kCursor;
  int page_size = 100;
  std::string records_field = "records";          // where the records are in a page
  std::string next_cursor_field = "next_cursor";  // cursor pagination: the next page
  std::string cursor_param = "cursor";
  std::string limit_param = "limit";
  std::string offset_param = "offset";
  std::map<std::string, std::string> source_headers;
  // Service B: an HTTP endpoint (POST {"records": [...]}) or a MariaDB table.
  std::string sink_url;
  std::map<std::string, std::string> sink_headers;
  std::string sink_table;
  std::vector<std::string> sink_columns;
  std::string sink_key;  // the table's unique key column; defaults to id_field
  // Records and chunks.
  std::string id_field = "id";
  int chunk_size = 100;
  double rate_limit = 0;  // requests per second to each service, 0: unlimited
  int64_t connect_timeout_ms = 2000;
  int64_t transfer_timeout_ms = 10000;
  int max_record_attempts = 3;  // rejections of one record before it is dead-lettered
  RetrySettings retry;
  BreakerSettings breaker;
};

struct SqlSettings {
  std::string statement;
};

struct CommandSettings {
  std::vector<std::string> argv;  // a string in the config runs through /bin/sh -c
  std::map<std::string, std::string> env;
  std::string cwd;
  int64_t output_limit = 64 * 1024;  // bytes of output kept in the history (the end)
};

struct JobSpec {
  std::string name;
  JobType type = JobType::kCommand;
  std::string schedule_text;
  std::string time_zone = "UTC";
  std::optional<Schedule> schedule;  // always set once loaded
  OverrunPolicy overrun = OverrunPolicy::kSkip;
  int max_concurrent = 1;
  int64_t misfire_grace_ms = 60000;
  int64_t jitter_ms = 0;
  int64_t timeout_ms = 0;   // a run is cancelled after this long (0: never)
  int64_t deadline_ms = 0;  // a run still going after this long raises an alert (0: never)
  int retries = 0;          // sql and command: runs again after a failure, with backoff
  int64_t lease_ms = 0;     // 0: the daemon's lease
  bool enabled = true;
  AlertSettings alert;
  HttpSyncSettings http_sync;
  SqlSettings sql;
  CommandSettings command;
};

struct DaemonSettings {
  std::string listen = "127.0.0.1:9477";  // /metrics and the control endpoint; "" = off
  int64_t shutdown_grace_ms = 30000;
  int64_t lease_ms = 30000;
  int64_t purge_interval_ms = 1000;
  std::string node;  // this sidecar's name in logs and history; default: the host name
};

// The scheduler's part of warden.toml: [daemon], [alerts] and every [[job]].
struct SchedulerConfig {
  std::string path;
  DaemonSettings daemon;
  std::vector<JobSpec> jobs;

  const JobSpec* Find(std::string_view name) const;

  // Reads `path`; throws UsageError naming the file, the line, the key and the reason:
  //   warden.toml:12: job "sync-orders": schedule: bad cron expression "61 * * * *": ...
  static SchedulerConfig Load(const std::string& path);
  // The same from text (tests).
  static SchedulerConfig Parse(const std::string& text, const std::string& path);
  // An empty configuration: no jobs, default daemon settings.
  static SchedulerConfig Empty() { return Parse("", ""); }

  // host and port from a "host:port" listen address; false if malformed.
  static bool ParseListen(const std::string& text, std::string* host, int* port);
};

}  // namespace warden
