#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/job_config.h"
#include "scheduler/job_run.h"

namespace warden {

// Fleet-wide state of the jobs, shared by every sidecar that uses the same Redis: which fire
// times were claimed, the leases of the runs going on, queued fire times, fencing tokens and
// the failure streaks that drive alerts. RedisCoordinator is the real one; MemoryCoordinator
// has the same semantics in one process (tests, `warden job run --standalone`).
//
// Every scheduled fire time is claimed at most once across the fleet: a claim records it as
// the job's high-water mark, so the same or an earlier fire time can never be claimed again,
// whichever sidecar asks and however late. A claim that may run takes a lease (an expiry kept
// by the coordinator's clock, renewed by the holder) and a fencing token that grows with every
// lease, so work done under an expired lease can be refused downstream.
class JobCoordinator {
 public:
  struct Claim {
    enum class Outcome {
      kRun,        // go: lease_id and fence are valid
      kTaken,      // another sidecar claimed this fire time (or a later one) already
      kSkipped,    // the job is running: overrun = skip, or allow at max_concurrent
      kQueued,     // the job is running: overrun = queue, it runs after the current run
      kReplacing,  // the job is running: overrun = replace, the current run was asked to stop
      kBusy,       // manual run refused: the job is at its concurrency limit
    };
    Outcome outcome = Outcome::kTaken;
    int64_t fence = 0;
    int64_t running = 0;  // runs going on fleet-wide when the claim was refused
  };

  enum class Renewal { kOk, kCancel, kLost };

  // What Release found: a queued fire time for which the releasing sidecar now holds a lease.
  struct Handoff {
    int64_t fire_ms = 0;
    int64_t fence = 0;
  };

  // The end of a run for the failure streak: kAlert when this failure made the streak reach
  // after_failures (once per streak, fleet-wide), kRecover on the first success after an alert.
  struct Streak {
    enum class Action { kNone, kAlert, kRecover };
    Action action = Action::kNone;
    int64_t failures = 0;  // consecutive failures including this run
  };

  virtual ~JobCoordinator() = default;

  // A scheduled fire time (manual = false) or a manual run (manual = true: no fire time is
  // recorded, and a job at its limit answers kBusy).
  virtual Claim TryClaim(const JobSpec& job, int64_t fire_ms, bool manual,
                         const std::string& lease_id) = 0;
  virtual Renewal Renew(const JobSpec& job, const std::string& lease_id) = 0;
  // Drops the lease; if a fire time is queued and the job now has room, hands it over under
  // `next_lease_id` (never when it is empty: a sidecar shutting down takes nothing new).
  virtual std::optional<Handoff> Release(const JobSpec& job, const std::string& lease_id,
                                         const std::string& next_lease_id) = 0;
  // The latest fire time claimed for the job, if any (for catch-up after downtime).
  virtual std::optional<int64_t> LastClaimed(const JobSpec& job) = 0;
  // Records how a run ended; `summary` is kept as the job's last result. A cancelled run
  // (replaced, shut down) neither extends nor ends the failure streak.
  virtual Streak Finish(const JobSpec& job, RunResult result, const std::string& summary) = 0;
  // The last result recorded by Finish, if any.
  virtual std::optional<std::string> LastResult(const std::string& job) = 0;
  // A run's progress (a JSON object), for every sidecar to show while it runs; gone when it
  // ends (Finish) or when it is not renewed within `ttl_ms`. A coordinator without a fleet
  // keeps none.
  virtual void PublishProgress(const JobSpec& job, const std::string& progress, int64_t ttl_ms) {
    (void)job, (void)progress, (void)ttl_ms;
  }
};

}  // namespace warden
