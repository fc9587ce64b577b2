#include "scheduler/scheduler.h"

#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "base/duration.h"
#include "base/errors.h"
#include "base/time_format.h"

namespace warden {

namespace {

constexpr int64_t kCatchUpAfterMs = 1000;  // a start this late is reported as a catch-up
constexpr int kMaxFireSteps = 100000;      // fire times walked through in one poll

// Jobs that fire more often than every 10 s log only what went wrong, not every run.
bool Chatty(const JobSpec& job) {
  const Schedule& s = *job.schedule;
  return (s.interval_ms() > 0 && s.interval_ms() < 10000) || s.has_seconds();
}

std::string Iso(int64_t ms) { return FormatIsoUtcMs(ms); }

}  // namespace

Scheduler::Scheduler(const SchedulerConfig& config, JobCoordinator& coordinator, Executor& executor,
                     Logger& logger, Metrics* metrics, AlertSink* alerts, Clock clock,
                     Options options)
    : coordinator_(coordinator),
      executor_(executor),
      logger_(logger),
      metrics_(metrics),
      alerts_(alerts),
      clock_(std::move(clock)),
      options_(std::move(options)) {
  Reload(config);
}

int64_t Scheduler::JitterFor(const JobSpec& job, int64_t fire_ms) {
  if (job.jitter_ms <= 0) return 0;
  // FNV-1a over the name and the fire time: the same delay in every sidecar.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (char c : job.name) mix(static_cast<unsigned char>(c));
  for (int i = 0; i < 8; ++i)
    mix(static_cast<unsigned char>(static_cast<uint64_t>(fire_ms) >> (8 * i)));
  return static_cast<int64_t>(h % static_cast<uint64_t>(job.jitter_ms));
}

int64_t Scheduler::HeartbeatMs(const JobSpec& job) const {
  return std::max<int64_t>(10, std::min(job.lease_ms / 3, options_.max_heartbeat_ms));
}

std::string Scheduler::NewLeaseId() {
  static const uint64_t salt = std::random_device{}();
  return options_.node + ":" + std::to_string(getpid()) + ":" + std::to_string(salt % 100000) +
         ":" + std::to_string(++lease_counter_);
}

void Scheduler::CoordinatorError(const std::string& what, const std::exception& e) {
  logger_.Log(Logger::Level::kWarn, what, {{"error", e.what()}});
}

void Scheduler::Reload(const SchedulerConfig& config) {
  std::map<std::string, JobState> jobs;
  for (const JobSpec& spec : config.jobs) {
    auto shared = std::make_shared<const JobSpec>(spec);
    JobState state;
    auto old = jobs_.find(spec.name);
    if (old != jobs_.end() && old->second.spec->schedule_text == spec.schedule_text &&
        old->second.spec->time_zone == spec.time_zone) {
      state = old->second;
      if (state.next_fire_ms)
        state.next_due_ms = *state.next_fire_ms + JitterFor(spec, *state.next_fire_ms);
    }
    state.spec = std::move(shared);
    jobs.emplace(spec.name, std::move(state));
  }
  jobs_ = std::move(jobs);
}

void Scheduler::InitJob(JobState& state, int64_t now) {
  std::optional<int64_t> last;
  try {
    last = coordinator_.LastClaimed(*state.spec);
  } catch (const Error& e) {
    state.retry_at_ms = now + options_.retry_ms;
    return;
  }
  // With no record the job starts from now: nothing to catch up on.
  state.handled_ms = last ? *last : now;
  state.initialized = true;
  state.next_fire_ms = state.spec->schedule->Next(state.handled_ms);
  if (state.next_fire_ms) {
    state.next_due_ms = *state.next_fire_ms + JitterFor(*state.spec, *state.next_fire_ms);
  }
}

int64_t Scheduler::Poll(int64_t now) {
  std::deque<std::pair<uint64_t, RunOutcome>> finished;
  {
    std::lock_guard<std::mutex> lock(finished_mutex_);
    finished.swap(finished_);
  }
  for (auto& [id, outcome] : finished) Finished(id, std::move(outcome), now);

  for (auto& [id, run] : active_) Watch(run, now);
  RetryReleases(now);

  if (!draining_) {
    for (auto& [name, state] : jobs_) PollJob(state, now);
  }

  FlushStarts();

  int64_t wake = now + 60000;
  if (!draining_) {
    for (const auto& [name, state] : jobs_) {
      if (!state.spec->enabled) continue;
      if (!state.initialized || state.retry_at_ms > now) {
        wake = std::min(wake, std::max(state.retry_at_ms, now + 1));
        continue;
      }
      if (state.next_fire_ms) wake = std::min(wake, state.next_due_ms);
    }
  }
  if (!unreleased_.empty()) wake = std::min(wake, now + 500);
  for (const auto& [id, run] : active_) {
    const JobSpec& spec = *run.request.job;
    wake = std::min(wake, run.next_renew_ms);
    if (spec.timeout_ms > 0 && !run.timed_out) {
      wake = std::min(wake, run.started_ms + spec.timeout_ms);
    }
    if (spec.deadline_ms > 0 && !run.deadline_alerted) {
      wake = std::min(wake, run.started_ms + spec.deadline_ms);
    }
  }
  return wake;
}

void Scheduler::RetryReleases(int64_t now) {
  for (auto it = unreleased_.begin(); it != unreleased_.end();) {
    if (now >= it->expires_ms) {
      it = unreleased_.erase(it);
      continue;
    }
    try {
      coordinator_.Release(*it->job, it->lease_id, "");
      it = unreleased_.erase(it);
    } catch (const Error&) {
      return;  // Redis is still away: the next poll tries again
    }
  }
}

void Scheduler::PollJob(JobState& state, int64_t now) {
  const JobSpec& spec = *state.spec;
  if (!spec.enabled || now < state.retry_at_ms) return;
  if (!state.initialized) {
    InitJob(state, now);
    if (!state.initialized) return;
  }
  if (!state.next_fire_ms || now < state.next_due_ms) return;

  const Schedule& schedule = *spec.schedule;
  const int64_t first_due = *state.next_fire_ms;
  // The latest fire time that is due and not older than the grace.
  const int64_t lookback = std::max(state.handled_ms, now - spec.misfire_grace_ms - 1);
  std::optional<int64_t> fire = schedule.Next(lookback);
  if (!fire || *fire > now) {
    logger_.Warn("missed fire times older than misfire_grace; not running them",
                 {{"job", spec.name},
                  {"first_missed", Iso(first_due)},
                  {"misfire_grace", FormatDuration(spec.misfire_grace_ms)}});
    if (metrics_) metrics_->Skipped(spec.name, "misfire");
    state.handled_ms = now;
    state.next_fire_ms = schedule.Next(now);
    if (state.next_fire_ms) {
      state.next_due_ms = *state.next_fire_ms + JitterFor(spec, *state.next_fire_ms);
    }
    return;
  }
  if (schedule.interval_ms() > 0) {
    fire = now - now % schedule.interval_ms();  // the latest multiple at or before now
  } else {
    for (int i = 0; i < kMaxFireSteps; ++i) {
      auto next = schedule.Next(*fire);
      if (!next || *next > now) break;
      fire = next;
    }
  }
  const int64_t jitter = JitterFor(spec, *fire);
  if (now < *fire + jitter) {
    state.next_due_ms = *fire + jitter;
    return;
  }

  const bool missed_some = first_due < *fire;
  RunTrigger trigger = RunTrigger::kSchedule;
  if (missed_some || now - (*fire + jitter) > kCatchUpAfterMs) trigger = RunTrigger::kCatchUp;
  if (missed_some) {
    int64_t count = schedule.interval_ms() > 0 ? (*fire - first_due) / schedule.interval_ms() : -1;
    nlohmann::json fields = {
        {"job", spec.name}, {"first_missed", Iso(first_due)}, {"catch_up", Iso(*fire)}};
    if (count > 0) fields["missed"] = count;
    logger_.Info("missed fire times; running the latest one as a catch-up", fields);
    if (metrics_) metrics_->Skipped(spec.name, "misfire");
  }

  const int64_t previous = state.handled_ms;
  state.handled_ms = *fire;
  const std::string lease_id = NewLeaseId();
  JobCoordinator::Claim claim;
  try {
    claim = coordinator_.TryClaim(spec, *fire, false, lease_id);
  } catch (const Error& e) {
    // Try again shortly while the fire time is within the grace. Redis unreachable is the
    // daemon's to log; a refused claim (no replica acknowledged it) is said here.
    if (dynamic_cast<const RedisReplyError*>(&e) != nullptr) {
      logger_.Warn("fire time not claimed", {{"job", spec.name}, {"error", e.what()}});
    }
    state.handled_ms = previous;
    state.retry_at_ms = now + options_.retry_ms;
    return;
  }
  state.retry_at_ms = 0;
  state.next_fire_ms = schedule.Next(std::max(*fire, now));
  if (state.next_fire_ms) {
    state.next_due_ms = *state.next_fire_ms + JitterFor(spec, *state.next_fire_ms);
  }

  using Outcome = JobCoordinator::Claim::Outcome;
  const nlohmann::json fields = {{"job", spec.name},
                                 {"fire", Iso(*fire)},
                                 {"overrun", OverrunPolicyName(spec.overrun)},
                                 {"running", claim.running}};
  switch (claim.outcome) {
    case Outcome::kRun:
      StartRun(state.spec, *fire, *fire + jitter, trigger, claim.fence, lease_id, now);
      break;
    case Outcome::kTaken:
      if (metrics_) metrics_->Skipped(spec.name, "taken");
      break;
    case Outcome::kSkipped:
      if (!Chatty(spec)) logger_.Info("skipped a fire time: the job is still running", fields);
      if (metrics_) metrics_->Skipped(spec.name, "overrun");
      break;
    case Outcome::kQueued:
      if (!Chatty(spec)) logger_.Info("queued a fire time until the current run ends", fields);
      break;
    case Outcome::kReplacing:
      logger_.Info("asked the current run to stop for a new one (overrun = replace)", fields);
      for (auto& [id, run] : active_) {
        if (run.request.job->name == spec.name) {
          run.request.cancel->Cancel(CancelToken::Reason::kReplaced);
        }
      }
      break;
    case Outcome::kBusy:
      break;
  }
}

void Scheduler::StartRun(std::shared_ptr<const JobSpec> job, int64_t fire_ms, int64_t planned_ms,
                         RunTrigger trigger, int64_t fence, const std::string& lease_id,
                         int64_t now) {
  ActiveRun run;
  run.request.local_id = next_local_id_++;
  run.request.job = std::move(job);
  run.request.fire_ms = fire_ms;
  run.request.planned_ms = planned_ms;
  run.request.trigger = trigger;
  run.request.fence = fence;
  run.request.lease_id = lease_id;
  run.request.cancel = std::make_shared<CancelToken>();
  run.request.progress = std::make_shared<RunProgress>();
  const int64_t started = std::max(now, clock_());
  run.started_ms = started;
  run.next_renew_ms = started + HeartbeatMs(*run.request.job);
  const JobSpec& spec = *run.request.job;
  if (metrics_) metrics_->RunStarted(spec.name, static_cast<double>(started - planned_ms) / 1000.0);
  if (!Chatty(spec) || trigger != RunTrigger::kSchedule) {
    logger_.Info("run started", {{"job", spec.name},
                                 {"trigger", RunTriggerName(trigger)},
                                 {"fire", Iso(fire_ms)},
                                 {"fence", fence}});
  }
  const uint64_t id = run.request.local_id;
  // Started once this poll has claimed everything that is due: a new run's thread would
  // otherwise compete for the CPU with the claims of the other jobs due at the same time.
  to_start_.push_back(run.request);
  active_.emplace(id, std::move(run));
}

void Scheduler::FlushStarts() {
  std::vector<RunRequest> starts;
  starts.swap(to_start_);
  for (const RunRequest& request : starts) executor_.Start(request);
}

// At most once a second, what the run last said of its progress, with the run's start, the
// time (Unix ms) and this sidecar's name beside it.
void Scheduler::PublishProgress(ActiveRun& run, int64_t now) {
  if (!run.request.progress || now < run.next_progress_ms) return;
  auto progress = run.request.progress->TakeNew(&run.progress_seen);
  if (!progress || !progress->is_object()) return;
  run.next_progress_ms = now + kProgressEveryMs;
  (*progress)["node"] = options_.node;
  (*progress)["started"] = run.started_ms;
  (*progress)["at"] = now;
  try {
    coordinator_.PublishProgress(*run.request.job, progress->dump(), kProgressTtlMs);
  } catch (const Error&) {
    // Redis down: the console shows no progress meanwhile; the run goes on.
  }
}

void Scheduler::Watch(ActiveRun& run, int64_t now) {
  const JobSpec& spec = *run.request.job;
  if (spec.timeout_ms > 0 && !run.timed_out && now >= run.started_ms + spec.timeout_ms) {
    run.timed_out = true;
    logger_.Warn("run timed out; asking it to stop",
                 {{"job", spec.name}, {"timeout", FormatDuration(spec.timeout_ms)}});
    run.request.cancel->Cancel(CancelToken::Reason::kTimeout);
  }
  if (spec.deadline_ms > 0 && !run.deadline_alerted && now >= run.started_ms + spec.deadline_ms) {
    run.deadline_alerted = true;
    if (alerts_) {
      AlertEvent event;
      event.kind = AlertEvent::Kind::kDeadline;
      event.job = spec.name;
      event.node = options_.node;
      event.fire_ms = run.request.fire_ms;
      event.started_ms = run.started_ms;
      event.at_ms = now;
      event.error = "still running after " + FormatDuration(spec.deadline_ms);
      alerts_->Send(spec, event);
    }
  }
  PublishProgress(run, now);
  if (now < run.next_renew_ms) return;
  run.next_renew_ms = now + HeartbeatMs(spec);
  JobCoordinator::Renewal renewal;
  try {
    renewal = coordinator_.Renew(spec, run.request.lease_id);
  } catch (const Error& e) {
    return;  // keep running; the lease lasts a while, and the fence guards the rest
  }
  if (renewal == JobCoordinator::Renewal::kCancel && !run.request.cancel->cancelled()) {
    logger_.Info("run asked to stop for a newer one (overrun = replace)", {{"job", spec.name}});
    run.request.cancel->Cancel(CancelToken::Reason::kReplaced);
  } else if (renewal == JobCoordinator::Renewal::kLost && !run.request.cancel->cancelled()) {
    logger_.Warn("run lost its lease; asking it to stop", {{"job", spec.name}});
    run.request.cancel->Cancel(CancelToken::Reason::kLeaseLost);
  }
}

void Scheduler::OnFinished(uint64_t local_id, RunOutcome outcome) {
  {
    std::lock_guard<std::mutex> lock(finished_mutex_);
    finished_.emplace_back(local_id, std::move(outcome));
  }
  if (wake_) wake_();
}

void Scheduler::Finished(uint64_t local_id, RunOutcome outcome, int64_t now) {
  auto it = active_.find(local_id);
  if (it == active_.end()) return;
  ActiveRun run = std::move(it->second);
  active_.erase(it);
  std::shared_ptr<const JobSpec> spec = run.request.job;
  if (run.timed_out && outcome.result != RunResult::kOk) {
    outcome.result = RunResult::kTimeout;
    if (outcome.error.empty())
      outcome.error = "timed out after " + FormatDuration(spec->timeout_ms);
  }
  if (outcome.started_ms == 0) outcome.started_ms = run.started_ms;
  if (outcome.finished_ms == 0) outcome.finished_ms = now;
  const int64_t duration = std::max<int64_t>(0, outcome.finished_ms - outcome.started_ms);
  const char* result = RunResultName(outcome.result);
  if (metrics_) {
    metrics_->RunFinished(spec->name, result, static_cast<double>(duration) / 1000.0,
                          static_cast<double>(now) / 1000.0);
  }
  const bool ok = outcome.result == RunResult::kOk;
  nlohmann::json fields = {{"job", spec->name},
                           {"result", result},
                           {"duration", FormatDuration(duration)},
                           {"rows", outcome.rows}};
  if (!outcome.error.empty()) fields["error"] = outcome.error;
  if (!ok) {
    logger_.Warn("run finished", fields);
  } else if (!Chatty(*spec) || run.request.trigger != RunTrigger::kSchedule) {
    logger_.Info("run finished", fields);
  }

  const nlohmann::json summary = {{"result", result},
                                  {"trigger", RunTriggerName(run.request.trigger)},
                                  {"fire", run.request.fire_ms},
                                  {"started", outcome.started_ms},
                                  {"finished", outcome.finished_ms},
                                  {"rows", outcome.rows},
                                  {"error", outcome.error},
                                  {"node", options_.node}};
  try {
    JobCoordinator::Streak streak =
        coordinator_.Finish(*spec, outcome.result,
                            summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (alerts_ && streak.action != JobCoordinator::Streak::Action::kNone) {
      AlertEvent event;
      event.kind = streak.action == JobCoordinator::Streak::Action::kAlert
                       ? AlertEvent::Kind::kFailing
                       : AlertEvent::Kind::kRecovered;
      event.job = spec->name;
      event.node = options_.node;
      event.failures = streak.failures;
      event.error = outcome.error;
      event.fire_ms = run.request.fire_ms;
      event.started_ms = outcome.started_ms;
      event.at_ms = now;
      alerts_->Send(*spec, event);
    }
  } catch (const Error& e) {
    CoordinatorError("cannot record the result in Redis", e);
  }

  // Release the lease; a queued fire time may be handed to this sidecar.
  auto current = jobs_.find(spec->name);
  std::shared_ptr<const JobSpec> next_spec = current != jobs_.end() ? current->second.spec : spec;
  const std::string next_lease = draining_ ? "" : NewLeaseId();
  try {
    auto handoff = coordinator_.Release(*spec, run.request.lease_id, next_lease);
    if (handoff) {
      StartRun(next_spec, handoff->fire_ms, handoff->fire_ms, RunTrigger::kQueued, handoff->fence,
               next_lease, now);
    }
  } catch (const Error& e) {
    CoordinatorError("cannot release the lease in Redis (retrying; it expires anyway)", e);
    unreleased_.push_back({spec, run.request.lease_id, now + spec->lease_ms});
  }
}

std::optional<uint64_t> Scheduler::RunNow(const std::string& name, std::string* error) {
  if (draining_) {
    *error = "the daemon is shutting down";
    return std::nullopt;
  }
  auto it = jobs_.find(name);
  if (it == jobs_.end()) {
    *error = "no job named \"" + name + "\"";
    return std::nullopt;
  }
  const JobSpec& spec = *it->second.spec;
  if (!spec.enabled) {
    *error = "job \"" + name + "\" is disabled (enabled = false in its [[job]])";
    return std::nullopt;
  }
  const int64_t now = clock_();
  const std::string lease_id = NewLeaseId();
  JobCoordinator::Claim claim;
  try {
    claim = coordinator_.TryClaim(spec, now, true, lease_id);
  } catch (const Error& e) {
    *error = std::string("cannot take a lease: ") + e.what();
    return std::nullopt;
  }
  if (claim.outcome != JobCoordinator::Claim::Outcome::kRun) {
    *error = "job \"" + name + "\" is already running (" + std::to_string(claim.running) + " run" +
             (claim.running == 1 ? "" : "s") +
             " in the fleet; overrun = " + OverrunPolicyName(spec.overrun) + " allows " +
             std::to_string(spec.overrun == OverrunPolicy::kAllow ? spec.max_concurrent : 1) + ")";
    return std::nullopt;
  }
  const uint64_t id = next_local_id_;
  StartRun(it->second.spec, now, now, RunTrigger::kManual, claim.fence, lease_id, now);
  FlushStarts();
  return id;
}

void Scheduler::Drain() { draining_ = true; }

void Scheduler::CancelAll(CancelToken::Reason reason) {
  for (auto& [id, run] : active_) run.request.cancel->Cancel(reason);
}

std::vector<Scheduler::JobStatus> Scheduler::Status() const {
  std::vector<JobStatus> out;
  const int64_t now = clock_();
  for (const auto& [name, state] : jobs_) {
    JobStatus status;
    status.job = state.spec;
    if (state.spec->enabled) {
      status.next_fire_ms = state.initialized && state.next_fire_ms && *state.next_fire_ms > now
                                ? state.next_fire_ms
                                : state.spec->schedule->Next(now);
    }
    for (const auto& [id, run] : active_) {
      if (run.request.job->name == name) ++status.running;
    }
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace warden
