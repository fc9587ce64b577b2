#pragma once

#include <string>

#include "scheduler/job_coordinator.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_script.h"

namespace warden {

// JobCoordinator on Redis: one Lua script per operation, so each is atomic, and Redis's own
// clock (TIME) for every lease, so the sidecars' clocks never have to agree. Keys, per job
// (docs/scheduler.md; "job:{<name>}:..." in a Redis Cluster, one slot per job):
//   <prefix>job:<name>:claimed   the latest claimed fire time (ms)
//   <prefix>job:<name>:leases    hash: lease id -> expiry (ms, Redis clock)
//   <prefix>job:<name>:cancel    set: lease ids asked to stop (overrun = replace)
//   <prefix>job:<name>:queued    a fire time waiting for the current run (queue, replace)
//   <prefix>job:<name>:fence     the fencing token counter (INCR)
//   <prefix>job:<name>:failures  consecutive failures
//   <prefix>job:<name>:alerting  set while an alert is out
//   <prefix>job:<name>:last      the last result (JSON)
// With a Sentinel or Cluster deployment (there: the replicas of the claim's slot's primary) a
// claim that may run is acknowledged by a replica first (WAIT 1),
// so a failover right after it cannot lose it and let the same fire time run again elsewhere;
// a claim no connected replica acknowledges in time does not run (at most once); with no
// replica connected there is nothing to fail over to, and it runs (docs/topology.md).
// Not thread-safe: one connection, used by the daemon's scheduling thread. Throws RedisError.
class RedisCoordinator : public JobCoordinator {
 public:
  explicit RedisCoordinator(std::string prefix);
  RedisCoordinator(const RedisCoordinator&) = delete;
  RedisCoordinator& operator=(const RedisCoordinator&) = delete;

  // The connection to use from now on (nullptr: none, every call throws RedisConnectError).
  void Attach(RedisConnection* conn) { conn_ = conn; }

  Claim TryClaim(const JobSpec& job, int64_t fire_ms, bool manual,
                 const std::string& lease_id) override;
  Renewal Renew(const JobSpec& job, const std::string& lease_id) override;
  std::optional<Handoff> Release(const JobSpec& job, const std::string& lease_id,
                                 const std::string& next_lease_id) override;
  std::optional<int64_t> LastClaimed(const JobSpec& job) override;
  Streak Finish(const JobSpec& job, RunResult result, const std::string& summary) override;
  std::optional<std::string> LastResult(const std::string& job) override;
  void PublishProgress(const JobSpec& job, const std::string& progress, int64_t ttl_ms) override;
  // The progress of a run going on somewhere in the fleet (JSON), if one published any.
  std::optional<std::string> Progress(const std::string& job);
  // The job's consecutive failures across the fleet so far (0 after a success).
  int64_t Failures(const std::string& job);

  // Loads the scripts into Redis's script cache now, so the first fire time does not pay.
  void Preload();

  // Runs of the job going on across the fleet now (live leases), for `warden job list`.
  int64_t Running(const std::string& job);

  // The message of the last Redis failure, for logs.
  const std::string& last_error() const { return last_error_; }

  // RedisSchema::JobKey for the attached connection's deployment: "job:{<name>}:<what>" in a
  // cluster, so that each script's keys share a slot.
  std::string Key(const std::string& job, const char* what) const;

  // A fencing counter below `at_least` (the fence a job's checkpoint in MariaDB holds) was
  // lost: Redis restarted empty, was flushed, or failed over to a replica without it. Raises
  // the job's counter to `at_least` and returns the next fence; 0 when the counter was not
  // behind (then a newer run really holds the checkpoint). On its own connection: runs call it.
  static int64_t ReseedFence(RedisConnection& conn, const std::string& prefix,
                             const std::string& job, int64_t at_least);

 private:
  RedisConnection& conn();
  // Sentinel and Cluster only: throws RedisReplyError (after releasing the lease) when no replica
  // acknowledged the claim in time.
  void AwaitReplica(const JobSpec& job, int64_t fire_ms, const std::string& lease_id);
  RedisReply Run(RedisScript& script, const std::vector<std::string>& keys,
                 const std::vector<std::string>& args);
  RedisReply Command(std::initializer_list<std::string_view> args);

  std::string prefix_;
  RedisConnection* conn_ = nullptr;
  std::string last_error_;
  RedisScript claim_script_;
  RedisScript renew_script_;
  RedisScript release_script_;
  RedisScript finish_script_;
};

}  // namespace warden
