#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/logger.h"
#include "base/metrics.h"
#include "base/signal_events.h"
#include "blacklist/blacklist_store.h"
#include "common/backoff.h"
#include "common/redis_deployment.h"
#include "config/settings.h"
#include "console/console.h"
#include "jobs/breaker_registry.h"
#include "jobs/job_runner.h"
#include "jobs/webhook_alerter.h"
#include "net/control_server.h"
#include "scheduler/job_config.h"
#include "scheduler/redis_coordinator.h"
#include "scheduler/scheduler.h"
#include "scheduler/thread_executor.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/sentinel_watch.h"

namespace warden {

// `warden daemon`: the long-running part of the sidecar, one per node.
//   - The job scheduler (docs/scheduler.md): the [[job]]s of the config file, each fire time run
//     once across every sidecar sharing the Redis, run history in MariaDB.
//   - Built-in housekeeping: purging expired bans every purge_interval (each purge is atomic
//     in Redis, so every sidecar may do it; the deletions reach every nginx node through the
//     change stream).
//   - /metrics, the job control endpoint and the operator's console over HTTP ([daemon] listen,
//     docs/console.md).
//   - SIGHUP reloads the config file (a bad one is rejected and the running one kept); SIGTERM
//     or SIGINT: start nothing new, wait up to shutdown_grace for runs to finish, then ask them
//     to stop (http_sync stops at a chunk boundary, checkpointed) and exit.
//
// It never gives up on Redis: while Redis is down it reconnects with exponential backoff and
// jitter, logging once when the outage starts and once when it ends; fire times missed
// meanwhile follow the misfire rules.
class Daemon {
 public:
  struct Options {
    RedisDeployment redis;
    int64_t timeout_ms = 2000;
    std::string prefix = "warden:";
    int64_t purge_interval_ms = 1000;
    int64_t purge_limit = 1000;     // entries per script call
    int64_t purge_max_rounds = 10;  // script calls per tick when many bans expire at once
    int64_t backoff_initial_ms = 100;
    int64_t backoff_max_ms = 5000;
    std::string config_path;  // re-read on SIGHUP ("" = nothing to reload)
    SchedulerConfig config;
    const JobTypeRegistry* types = nullptr;  // the job types (default: BuiltinJobTypes())
    // Sets up the job types that need MariaDB (sql, http_sync) and the history; may be empty.
    std::function<void(JobRunner::Deps&, Logger&, Metrics&, BreakerRegistry&)> configure_runner;
    // The daemon's own --redis, --mysql, --prefix, --timeout, for the batch jobs' children.
    SettingsFlags flags;
  };

  Daemon(Options options, Logger& logger, SignalEvents& signals);
  ~Daemon();

  // Runs until stopped; returns the process exit code.
  int Run();

 private:
  bool Connect();
  void PurgeTick();
  // Sentinel: records the primary found, and logs a failover when it changed.
  void NotePrimary();
  void EnterOutage(const std::string& why);
  // sentinel://: leaves the connection when the Sentinels announced another primary
  // (+switch-master, SentinelWatch); the loop connects again at once.
  void FollowSwitch();
  void Reload();
  void StartControl();
  // Runs `task` on the loop thread and waits for its answer (control requests). With
  // `until_draining`, gives up as soon as the daemon starts stopping (the console's thread,
  // which the loop joins then).
  ControlServer::Reply OnLoop(std::function<ControlServer::Reply()> task,
                              bool until_draining = false);
  ControlServer::Reply JobsReply();
  ControlServer::Reply RunReply(const std::string& name);
  ControlServer::Reply RunStatusReply(uint64_t id);
  void RunTasks();
  void RememberOutcome(uint64_t id, const RunOutcome& outcome);

  Options options_;
  Logger& logger_;
  SignalEvents& signals_;
  Metrics metrics_;
  BreakerRegistry breakers_;
  const JobTypeRegistry* types_ = nullptr;
  std::unique_ptr<WebhookAlerter> alerter_;
  std::unique_ptr<JobRunner> runner_;
  std::unique_ptr<ThreadExecutor> executor_;
  RedisCoordinator coordinator_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Console> console_;  // before control_: the server calls into it
  std::unique_ptr<ControlServer> control_;

  std::optional<RedisConnection> conn_;
  std::unique_ptr<BlacklistStore> store_;
  bool in_outage_ = false;
  int64_t outage_started_ms_ = 0;
  int64_t reconnect_at_ms_ = 0;
  int64_t next_purge_ms_ = 0;
  std::string last_task_error_;
  Backoff reconnect_backoff_;   // reconnects to Redis
  int64_t failovers_seen_ = 0;  // changes of primary this daemon recorded first (Sentinel)
  // The primary the Sentinels announced last, and the Sentinel that did, set by the watch's
  // thread; FollowSwitch takes it. That Sentinel is asked first from then on: the others may
  // still name the old primary for a moment, which may still answer as one.
  std::mutex switch_mutex_;
  std::optional<std::pair<RedisNodeAddress, RedisNodeAddress>> switched_to_;
  std::optional<RedisNodeAddress> first_sentinel_;
  std::unique_ptr<SentinelWatch> sentinel_watch_;  // last: its thread calls into the above

  std::atomic<bool> draining_{false};
  std::mutex tasks_mutex_;
  std::deque<std::function<void()>> tasks_;
  // Outcomes of the latest runs started here, for GET /runs/ID.
  std::mutex outcomes_mutex_;
  std::map<uint64_t, RunOutcome> outcomes_;
};

}  // namespace warden
