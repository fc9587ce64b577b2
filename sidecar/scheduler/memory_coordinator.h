#pragma once

#include <map>
#include <mutex>
#include <set>

#include "common/clock.h"
#include "scheduler/job_coordinator.h"

namespace warden {

// JobCoordinator in one process, with an injected clock: the same rules as the Redis scripts.
class MemoryCoordinator : public JobCoordinator {
 public:
  explicit MemoryCoordinator(Clock clock = SystemNowMs) : clock_(std::move(clock)) {}

  Claim TryClaim(const JobSpec& job, int64_t fire_ms, bool manual,
                 const std::string& lease_id) override;
  Renewal Renew(const JobSpec& job, const std::string& lease_id) override;
  std::optional<Handoff> Release(const JobSpec& job, const std::string& lease_id,
                                 const std::string& next_lease_id) override;
  std::optional<int64_t> LastClaimed(const JobSpec& job) override;
  Streak Finish(const JobSpec& job, RunResult result, const std::string& summary) override;
  std::optional<std::string> LastResult(const std::string& job) override;

  // For tests: leases alive now.
  size_t Leases(const std::string& job);

 private:
  struct State {
    std::optional<int64_t> claimed;
    std::map<std::string, int64_t> leases;  // id -> expiry
    std::set<std::string> cancel;
    std::optional<int64_t> queued;
    int64_t fence = 0;
    int64_t failures = 0;
    bool alerting = false;
    std::optional<std::string> last;
  };
  State& Live(const std::string& job, int64_t now);
  static int Limit(const JobSpec& job) {
    return job.overrun == OverrunPolicy::kAllow ? job.max_concurrent : 1;
  }

  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, State> jobs_;
};

}  // namespace warden
