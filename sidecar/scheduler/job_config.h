#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/schedule.h"

namespace warden {

class JobTypeRegistry;

// What to do with a fire time that comes while an earlier run of the job still goes on.
enum class OverrunPolicy {
  kSkip,     // drop the new fire time (default)
  kQueue,    // run once more right after the current run; further fire times are dropped
  kReplace,  // ask the current run to stop at its next safe point, then run the new one
  kAllow,    // run side by side, up to max_concurrent runs
};
const char* OverrunPolicyName(OverrunPolicy policy);

// An http:// or https:// URL with no white space (webhooks, http_sync).
bool ValidHttpUrl(const std::string& url);

struct AlertSettings {
  std::string webhook;  // empty: alerts are only logged
  int after_failures = 3;
  bool slack = false;  // a Slack-compatible body ({"text": ...}) instead of Warden's JSON
};

// A job type's own settings (CommandSettings, SqlSettings, HttpSyncSettings, ...), read by
// its JobType::parse (scheduler/job_type.h).
struct JobParams {
  virtual ~JobParams() = default;
};

struct JobSpec {
  std::string name;
  std::string type = "command";  // a name in the JobTypeRegistry
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
  std::shared_ptr<const JobParams> params;  // the type's own settings

  // The type's settings; a type reads only those its own parse wrote.
  template <class T>
  const T& Params() const {
    const T* typed = dynamic_cast<const T*>(params.get());
    if (typed == nullptr) throw std::logic_error("job " + name + ": no settings of type " + type);
    return *typed;
  }
};

struct DaemonSettings {
  std::string listen = "127.0.0.1:9477";  // /metrics and the control endpoint; "" = off
  // A file holding the control endpoint's token (Authorization: Bearer): with one, job control
  // and run output need it; without one, the endpoint may listen on loopback only.
  std::string token_file;
  std::string token;           // read from token_file when the config is loaded
  bool metrics_token = false;  // /metrics needs the token too (default: open)
  bool console = true;         // the operator's console on the listener (docs/console.md)
  // Host names the console answers to besides IP addresses, localhost and `node` (a reverse
  // proxy's name for it); any other Host is refused, against DNS rebinding.
  std::vector<std::string> console_hosts;
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

  // Reads `path`, with the job types of `types`; throws UsageError naming the file, the line,
  // the key and the reason:
  //   warden.toml:12: job "sync-orders": schedule: bad cron expression "61 * * * *": ...
  static SchedulerConfig Load(const std::string& path, const JobTypeRegistry& types);
  // The same from text (tests).
  static SchedulerConfig Parse(const std::string& text, const std::string& path,
                               const JobTypeRegistry& types);
  // An empty configuration: no jobs, default daemon settings.
  static SchedulerConfig Empty();

  // host and port from a "host:port" listen address; false if malformed.
  static bool ParseListen(const std::string& text, std::string* host, int* port);
  // 127.0.0.0/8, ::1 or localhost: reachable from this host only.
  static bool IsLoopback(const std::string& host);
};

}  // namespace warden
