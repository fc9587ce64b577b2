#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/metrics.h"
#include "common/clock.h"
#include "scheduler/alert.h"
#include "scheduler/job_config.h"
#include "scheduler/job_coordinator.h"
#include "scheduler/job_run.h"

namespace warden {

// Runs a RunRequest somewhere (a thread, a test double) and reports back through
// Scheduler::OnFinished exactly once per request.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Start(const RunRequest& request) = 0;
};

// The daemon's scheduling brain, driven by Poll(now) on one thread with an injected clock:
//   - fire times come from each job's Schedule (no drift), each delayed by the job's jitter
//     (the same for every sidecar: a hash of the job and the fire time);
//   - a fire time is claimed through the JobCoordinator, which applies the overrun policy
//     fleet-wide and makes sure it runs at most once across the fleet;
//   - fire times missed while the daemon (or Redis) was down: only the latest one, and only if
//     it is at most misfire_grace old, runs as a catch-up; never a burst;
//   - leases are renewed while runs go on; a run is cancelled when it times out, when a
//     replacing run asks for it, or when its lease is lost; a deadline raises an alert;
//   - the end of a run releases its lease (starting a queued fire time if one waits), updates
//     the failure streak and raises failure/recovery alerts.
// Poll, RunNow, Drain, CancelAll, Reload and Status must be called from one thread;
// OnFinished from any thread.
class Scheduler {
 public:
  struct Options {
    std::string node = "warden";
    int64_t retry_ms = 250;           // after a coordinator error
    int64_t max_heartbeat_ms = 1000;  // leases are renewed at least this often
  };

  Scheduler(const SchedulerConfig& config, JobCoordinator& coordinator, Executor& executor,
            Logger& logger, Metrics* metrics, AlertSink* alerts, Clock clock, Options options);

  // Does everything due at `now`; returns when it wants to be called again (absolute ms).
  int64_t Poll(int64_t now);
  // Thread-safe: a run ended. `wake` (if set) is called so the loop polls soon.
  void OnFinished(uint64_t local_id, RunOutcome outcome);
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

  // `warden job run NAME`: starts a run now unless the job is at its concurrency limit.
  // Returns the run's local id, or nullopt with `error` set.
  std::optional<uint64_t> RunNow(const std::string& name, std::string* error);

  // Start nothing new from now on (SIGTERM); runs going on continue.
  void Drain();
  bool draining() const { return draining_; }
  // Asks every run going on to stop.
  void CancelAll(CancelToken::Reason reason);
  size_t running() const { return active_.size(); }

  // Takes a new configuration: jobs keep their place in their schedule when their schedule did
  // not change; runs going on finish under the configuration they started with.
  void Reload(const SchedulerConfig& config);

  struct JobStatus {
    std::shared_ptr<const JobSpec> job;
    std::optional<int64_t> next_fire_ms;
    int running = 0;
  };
  std::vector<JobStatus> Status() const;

  // The jitter of a fire time: stable, the same in every sidecar.
  static int64_t JitterFor(const JobSpec& job, int64_t fire_ms);

 private:
  struct JobState {
    std::shared_ptr<const JobSpec> spec;
    bool initialized = false;  // handled_ms loaded from the coordinator
    int64_t handled_ms = 0;    // fire times up to here are dealt with
    std::optional<int64_t> next_fire_ms;
    int64_t next_due_ms = 0;  // next fire + jitter
    int64_t retry_at_ms = 0;
  };
  struct ActiveRun {
    RunRequest request;
    int64_t started_ms = 0;
    int64_t next_renew_ms = 0;
    bool deadline_alerted = false;
    bool timed_out = false;
    uint64_t progress_seen = 0;  // the RunProgress version published last
    int64_t next_progress_ms = 0;
  };

  void InitJob(JobState& state, int64_t now);
  void PollJob(JobState& state, int64_t now);
  void Claim(JobState& state, int64_t fire_ms, RunTrigger trigger, int64_t now);
  void StartRun(std::shared_ptr<const JobSpec> job, int64_t fire_ms, int64_t planned_ms,
                RunTrigger trigger, int64_t fence, const std::string& lease_id, int64_t now);
  void Finished(uint64_t local_id, RunOutcome outcome, int64_t now);
  void FlushStarts();
  void Watch(ActiveRun& run, int64_t now);
  void PublishProgress(ActiveRun& run, int64_t now);
  static constexpr int64_t kProgressEveryMs = 1000;
  static constexpr int64_t kProgressTtlMs = 10000;
  std::string NewLeaseId();
  void CoordinatorError(const std::string& what, const std::exception& e);
  int64_t HeartbeatMs(const JobSpec& job) const;
  // Releases again the leases of finished runs that Redis was not there to release (an
  // outage, a failover): left alone they would hold the job until they expire.
  void RetryReleases(int64_t now);

  JobCoordinator& coordinator_;
  Executor& executor_;
  Logger& logger_;
  Metrics* metrics_;
  AlertSink* alerts_;
  Clock clock_;
  Options options_;
  std::map<std::string, JobState> jobs_;
  std::map<uint64_t, ActiveRun> active_;
  std::vector<RunRequest> to_start_;  // runs to hand to the executor at the end of a poll
  struct Unreleased {
    std::shared_ptr<const JobSpec> job;
    std::string lease_id;
    int64_t expires_ms = 0;  // by this sidecar's clock; no use trying after
  };
  std::vector<Unreleased> unreleased_;
  uint64_t next_local_id_ = 1;
  uint64_t lease_counter_ = 0;
  bool draining_ = false;
  std::function<void()> wake_;

  std::mutex finished_mutex_;
  std::deque<std::pair<uint64_t, RunOutcome>> finished_;
};

}  // namespace warden
