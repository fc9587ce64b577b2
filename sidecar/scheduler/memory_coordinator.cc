#include "scheduler/memory_coordinator.h"

namespace warden {

MemoryCoordinator::State& MemoryCoordinator::Live(const std::string& job, int64_t now) {
  State& state = jobs_[job];
  for (auto it = state.leases.begin(); it != state.leases.end();) {
    if (it->second <= now) {
      state.cancel.erase(it->first);
      it = state.leases.erase(it);
    } else {
      ++it;
    }
  }
  return state;
}

JobCoordinator::Claim MemoryCoordinator::TryClaim(const JobSpec& job, int64_t fire_ms, bool manual,
                                                  const std::string& lease_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = clock_();
  State& state = Live(job.name, now);
  Claim claim;
  if (!manual) {
    if (state.claimed && fire_ms <= *state.claimed) return claim;  // kTaken
    state.claimed = fire_ms;
  }
  const int64_t running = static_cast<int64_t>(state.leases.size());
  if (running >= Limit(job)) {
    claim.running = running;
    if (manual) {
      claim.outcome = Claim::Outcome::kBusy;
    } else if (job.overrun == OverrunPolicy::kQueue) {
      state.queued = fire_ms;
      claim.outcome = Claim::Outcome::kQueued;
    } else if (job.overrun == OverrunPolicy::kReplace) {
      state.queued = fire_ms;
      for (const auto& [id, expiry] : state.leases) state.cancel.insert(id);
      claim.outcome = Claim::Outcome::kReplacing;
    } else {
      claim.outcome = Claim::Outcome::kSkipped;
    }
    return claim;
  }
  if (!manual) state.queued.reset();  // a newer fire time supersedes a stale queued one
  state.leases[lease_id] = now + job.lease_ms;
  claim.outcome = Claim::Outcome::kRun;
  claim.fence = ++state.fence;
  return claim;
}

JobCoordinator::Renewal MemoryCoordinator::Renew(const JobSpec& job, const std::string& lease_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = clock_();
  State& state = Live(job.name, now);
  auto it = state.leases.find(lease_id);
  if (it == state.leases.end()) return Renewal::kLost;
  it->second = now + job.lease_ms;
  return state.cancel.contains(lease_id) ? Renewal::kCancel : Renewal::kOk;
}

std::optional<JobCoordinator::Handoff> MemoryCoordinator::Release(
    const JobSpec& job, const std::string& lease_id, const std::string& next_lease_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = clock_();
  State& state = Live(job.name, now);
  state.leases.erase(lease_id);
  state.cancel.erase(lease_id);
  if (next_lease_id.empty() || !state.queued ||
      static_cast<int64_t>(state.leases.size()) >= Limit(job)) {
    return std::nullopt;
  }
  Handoff handoff{*state.queued, ++state.fence};
  state.queued.reset();
  state.leases[next_lease_id] = now + job.lease_ms;
  return handoff;
}

std::optional<int64_t> MemoryCoordinator::LastClaimed(const JobSpec& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  return jobs_[job.name].claimed;
}

JobCoordinator::Streak MemoryCoordinator::Finish(const JobSpec& job, RunResult result,
                                                 const std::string& summary) {
  std::lock_guard<std::mutex> lock(mutex_);
  State& state = jobs_[job.name];
  state.last = summary;
  Streak streak;
  if (result == RunResult::kCancelled) {
    streak.failures = state.failures;
    return streak;
  }
  if (result == RunResult::kOk) {
    if (state.alerting) streak.action = Streak::Action::kRecover;
    state.alerting = false;
    state.failures = 0;
    return streak;
  }
  streak.failures = ++state.failures;
  if (streak.failures >= job.alert.after_failures && !state.alerting) {
    state.alerting = true;
    streak.action = Streak::Action::kAlert;
  }
  return streak;
}

std::optional<std::string> MemoryCoordinator::LastResult(const std::string& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.last;
}

size_t MemoryCoordinator::Leases(const std::string& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Live(job, clock_()).leases.size();
}

}  // namespace warden
