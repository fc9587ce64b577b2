// Scheduler with an injected clock, the in-memory coordinator and a fake executor: fire times,
// overrun policies, misfires, leases, timeouts, alerts, fleet-wide single execution.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/errors.h"
#include "jobs/job_types.h"
#include "scheduler/memory_coordinator.h"
#include "scheduler/time_zone.h"

namespace warden {
namespace {

int64_t Z(int64_t y, unsigned mo, unsigned d, int h, int mi = 0, int s = 0) {
  return (DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

// Runs are recorded; the test decides when each ends.
class FakeExecutor : public Executor {
 public:
  void Start(const RunRequest& request) override { started.push_back(request); }
  std::vector<RunRequest> started;
};

class FakeAlerts : public AlertSink {
 public:
  void Send(const JobSpec&, const AlertEvent& event) override { events.push_back(event); }
  std::vector<AlertEvent> events;
};

class SchedulerTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1'700'000'000'000;  // a multiple of 1 s

  // A scheduler over `jobs` (TOML [[job]] tables), sharing the coordinator.
  std::unique_ptr<Scheduler> Make(const std::string& jobs, FakeExecutor& executor,
                                  const std::string& node = "n1") {
    config_ = SchedulerConfig::Parse(jobs, "test.toml", BuiltinJobTypes());
    Scheduler::Options options;
    options.node = node;
    return std::make_unique<Scheduler>(
        config_, coordinator_, executor, logger_, &metrics_, &alerts_, [this] { return now_; },
        options);
  }

  // Advances the clock to `until`, polling whenever the scheduler asked to be woken, and lets
  // `on_wake` end runs at their planned times.
  void RunUntil(int64_t until, std::vector<Scheduler*> schedulers) {
    while (true) {
      int64_t wake = until;
      for (Scheduler* s : schedulers) wake = std::min(wake, s->Poll(now_));
      if (!pending_.empty() && pending_.begin()->first < wake) wake = pending_.begin()->first;
      if (wake > until) break;
      now_ = std::max(now_, wake);
      while (!pending_.empty() && pending_.begin()->first <= now_) {
        auto [at, what] = *pending_.begin();
        pending_.erase(pending_.begin());
        what();
      }
      if (now_ == until) {
        for (Scheduler* s : schedulers) s->Poll(now_);
        break;
      }
    }
    now_ = until;
  }

  // Ends run `request` with `result` `after` ms after now.
  void EndLater(Scheduler& s, const RunRequest& request, int64_t after,
                RunResult result = RunResult::kOk, std::string error = "") {
    pending_.emplace(now_ + after, [this, &s, request, result, error] {
      RunOutcome outcome;
      outcome.result = result;
      outcome.error = error;
      outcome.finished_ms = now_;
      s.OnFinished(request.local_id, outcome);
    });
  }

  // Every run that starts ends `duration` ms later with `result`.
  void AutoEnd(Scheduler& s, FakeExecutor& executor, int64_t duration,
               RunResult result = RunResult::kOk) {
    auto_.push_back({&s, &executor, duration, result, 0});
  }
  void Pump() {
    for (Auto& a : auto_) {
      while (a.seen < a.executor->started.size()) {
        EndLater(*a.scheduler, a.executor->started[a.seen++], a.duration, a.result);
      }
    }
  }
  void RunPumped(int64_t until, std::vector<Scheduler*> schedulers) {
    // Step in small increments so runs started in a poll get their end scheduled.
    while (now_ < until) {
      int64_t step_to = std::min(until, now_ + 10);
      RunUntil(step_to, schedulers);
      Pump();
    }
  }

  static std::vector<int64_t> Fires(const FakeExecutor& e) {
    std::vector<int64_t> out;
    for (const auto& r : e.started) out.push_back(r.fire_ms);
    return out;
  }

  int64_t now_ = kStart;
  std::ostringstream log_;
  Logger logger_{Logger::Format::kText, log_, [this] { return now_; }};
  MemoryCoordinator coordinator_{[this] { return now_; }};
  Metrics metrics_;
  FakeAlerts alerts_;
  SchedulerConfig config_;
  std::multimap<int64_t, std::function<void()>> pending_;
  struct Auto {
    Scheduler* scheduler;
    FakeExecutor* executor;
    int64_t duration;
    RunResult result;
    size_t seen;
  };
  std::vector<Auto> auto_;
};

const char* kEverySecond = R"(
[[job]]
name = "tick"
type = "command"
command = "true"
schedule = "@every 1s"
)";

TEST_F(SchedulerTest, FiresOnTheGridWithoutDrift) {
  FakeExecutor executor;
  auto s = Make(kEverySecond, executor);
  AutoEnd(*s, executor, 300);
  RunPumped(kStart + 5000, {s.get()});
  // No record yet: the first fire time is the next one after start, then every second.
  EXPECT_EQ(Fires(executor), (std::vector<int64_t>{kStart + 1000, kStart + 2000, kStart + 3000,
                                                   kStart + 4000, kStart + 5000}));
  for (const auto& r : executor.started) {
    EXPECT_EQ(r.planned_ms, r.fire_ms);
    EXPECT_EQ(r.trigger, RunTrigger::kSchedule);
  }
  // Fencing tokens grow with every lease.
  EXPECT_LT(executor.started[0].fence, executor.started[1].fence);
}

std::string Job(const std::string& overrun, const std::string& extra = "") {
  return "[[job]]\nname = \"tick\"\ntype = \"command\"\ncommand = \"true\"\n"
         "schedule = \"@every 1s\"\noverrun = \"" +
         overrun + "\"\n" + extra;
}

// The in-memory coordinator, whose Release fails while `down` (Redis away when a run ends).
class ReleaseFailsWhileDown : public JobCoordinator {
 public:
  explicit ReleaseFailsWhileDown(JobCoordinator& inner) : inner_(inner) {}
  Claim TryClaim(const JobSpec& job, int64_t fire_ms, bool manual,
                 const std::string& lease_id) override {
    return inner_.TryClaim(job, fire_ms, manual, lease_id);
  }
  Renewal Renew(const JobSpec& job, const std::string& lease_id) override {
    return inner_.Renew(job, lease_id);
  }
  std::optional<Handoff> Release(const JobSpec& job, const std::string& lease_id,
                                 const std::string& next_lease_id) override {
    if (down) throw RedisIoError("lost the connection to Redis");
    return inner_.Release(job, lease_id, next_lease_id);
  }
  std::optional<int64_t> LastClaimed(const JobSpec& job) override {
    return inner_.LastClaimed(job);
  }
  Streak Finish(const JobSpec& job, RunResult result, const std::string& summary) override {
    return inner_.Finish(job, result, summary);
  }
  std::optional<std::string> LastResult(const std::string& job) override {
    return inner_.LastResult(job);
  }
  bool down = false;

 private:
  JobCoordinator& inner_;
};

TEST_F(SchedulerTest, ALeaseRedisMissedIsReleasedOnceItIsBack) {
  FakeExecutor executor;
  ReleaseFailsWhileDown flaky(coordinator_);
  config_ = SchedulerConfig::Parse(kEverySecond, "test.toml", BuiltinJobTypes());
  Scheduler s(
      config_, flaky, executor, logger_, &metrics_, &alerts_, [this] { return now_; },
      Scheduler::Options());
  AutoEnd(s, executor, 100);
  flaky.down = true;  // the run of 1000 ends at 1100 and cannot release its lease
  RunPumped(kStart + 1500, {&s});
  ASSERT_EQ(Fires(executor), (std::vector<int64_t>{kStart + 1000}));
  flaky.down = false;
  // Released at the next poll, not left to expire (30 s): 2000 and 3000 run.
  RunPumped(kStart + 3500, {&s});
  EXPECT_EQ(Fires(executor), (std::vector<int64_t>{kStart + 1000, kStart + 2000, kStart + 3000}));
}

TEST_F(SchedulerTest, OverrunSkipDropsFireTimesWhileRunning) {
  FakeExecutor executor;
  auto s = Make(Job("skip"), executor);
  AutoEnd(*s, executor, 2500);
  RunPumped(kStart + 7500, {s.get()});
  // 1000 runs until 3500: 2000 and 3000 are dropped; 4000 runs until 6500: 5000, 6000 dropped.
  EXPECT_EQ(Fires(executor), (std::vector<int64_t>{kStart + 1000, kStart + 4000, kStart + 7000}));
  EXPECT_NE(metrics_.Render().find("warden_job_skipped_total{job=\"tick\",reason=\"overrun\"} 4"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(SchedulerTest, OverrunQueueRunsOnceRightAfter) {
  FakeExecutor executor;
  auto s = Make(Job("queue"), executor);
  AutoEnd(*s, executor, 2500);
  RunPumped(kStart + 6100, {s.get()});
  // 1000 runs until 3500; 2000 and 3000 queue one run (the latest fire time), which starts at
  // 3500 and runs until 6000; 4000 and 5000 queue one more, which starts at 6000.
  ASSERT_EQ(executor.started.size(), 3u);
  EXPECT_EQ(Fires(executor), (std::vector<int64_t>{kStart + 1000, kStart + 3000, kStart + 5000}));
  EXPECT_EQ(executor.started[1].trigger, RunTrigger::kQueued);
  EXPECT_EQ(executor.started[2].trigger, RunTrigger::kQueued);
}

TEST_F(SchedulerTest, OverrunReplaceCancelsTheRunningOne) {
  FakeExecutor executor;
  auto s = Make(Job("replace"), executor);
  RunUntil(kStart + 1000, {s.get()});
  ASSERT_EQ(executor.started.size(), 1u);
  RunRequest first = executor.started[0];
  RunUntil(kStart + 2000, {s.get()});
  // Asked to stop at once (same sidecar), and nothing new yet.
  EXPECT_TRUE(first.cancel->cancelled());
  EXPECT_EQ(first.cancel->reason(), CancelToken::Reason::kReplaced);
  EXPECT_EQ(executor.started.size(), 1u);
  // It stops at its next safe point; the new run takes over with the 2000 fire time.
  EndLater(*s, first, 100, RunResult::kCancelled);
  RunUntil(kStart + 2150, {s.get()});
  ASSERT_EQ(executor.started.size(), 2u);
  EXPECT_EQ(executor.started[1].fire_ms, kStart + 2000);
  EXPECT_EQ(executor.started[1].trigger, RunTrigger::kQueued);
  // A cancelled run is no failure.
  EXPECT_TRUE(alerts_.events.empty());
}

TEST_F(SchedulerTest, OverrunAllowRunsUpToMaxConcurrent) {
  FakeExecutor executor;
  auto s = Make(Job("allow", "max_concurrent = 2\n"), executor);
  AutoEnd(*s, executor, 2500);
  RunPumped(kStart + 5000, {s.get()});
  // 1000 (until 3500), 2000 (until 4500); 3000 finds two running: dropped; 4000 runs.
  EXPECT_EQ(Fires(executor),
            (std::vector<int64_t>{kStart + 1000, kStart + 2000, kStart + 4000, kStart + 5000}));
}

TEST_F(SchedulerTest, TwoSidecarsRunEachFireTimeOnce) {
  FakeExecutor a, b;
  auto sa = Make(kEverySecond, a, "a");
  auto sb = Make(kEverySecond, b, "b");
  AutoEnd(*sa, a, 100);
  AutoEnd(*sb, b, 100);
  RunPumped(kStart + 20000, {sa.get(), sb.get()});
  std::vector<int64_t> all = Fires(a);
  for (int64_t f : Fires(b)) all.push_back(f);
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 20u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], kStart + 1000 * (i + 1));
}

TEST_F(SchedulerTest, MisfireAfterDowntimeRunsOneCatchUpWithinGrace) {
  const std::string job = R"(
[[job]]
name = "minutely"
type = "command"
command = "true"
schedule = "0 * * * * *"
misfire_grace = "30s"
)";
  // Before the downtime this fire time ran (claimed); the daemon comes back 10 minutes and
  // 10 seconds later.
  config_ = SchedulerConfig::Parse(job, "test.toml", BuiltinJobTypes());
  now_ = Z(2024, 5, 1, 12, 0, 0);
  ASSERT_EQ(coordinator_.TryClaim(config_.jobs[0], now_, false, "old").outcome,
            JobCoordinator::Claim::Outcome::kRun);
  coordinator_.Release(config_.jobs[0], "old", "");
  now_ = Z(2024, 5, 1, 12, 10, 10);
  FakeExecutor executor;
  auto s = Make(job, executor);
  AutoEnd(*s, executor, 100);
  RunPumped(Z(2024, 5, 1, 12, 11, 30), {s.get()});
  // One catch-up for 12:10:00 (10 s late, within the grace), not ten; then 12:11:00 on time.
  ASSERT_EQ(executor.started.size(), 2u);
  EXPECT_EQ(executor.started[0].fire_ms, Z(2024, 5, 1, 12, 10, 0));
  EXPECT_EQ(executor.started[0].trigger, RunTrigger::kCatchUp);
  EXPECT_EQ(executor.started[1].fire_ms, Z(2024, 5, 1, 12, 11, 0));
  EXPECT_EQ(executor.started[1].trigger, RunTrigger::kSchedule);
  EXPECT_NE(log_.str().find("running the latest one as a catch-up"), std::string::npos);
}

TEST_F(SchedulerTest, MisfireOlderThanGraceIsNotRun) {
  const std::string job = R"(
[[job]]
name = "minutely"
type = "command"
command = "true"
schedule = "0 * * * * *"
misfire_grace = "5s"
)";
  config_ = SchedulerConfig::Parse(job, "test.toml", BuiltinJobTypes());
  now_ = Z(2024, 5, 1, 12, 0, 0);
  coordinator_.TryClaim(config_.jobs[0], now_, false, "old");
  coordinator_.Release(config_.jobs[0], "old", "");
  now_ = Z(2024, 5, 1, 12, 10, 30);
  FakeExecutor executor;
  auto s = Make(job, executor);
  AutoEnd(*s, executor, 100);
  RunPumped(Z(2024, 5, 1, 12, 11, 30), {s.get()});
  ASSERT_EQ(executor.started.size(), 1u);
  EXPECT_EQ(executor.started[0].fire_ms, Z(2024, 5, 1, 12, 11, 0));
  EXPECT_NE(log_.str().find("missed fire times older than misfire_grace"), std::string::npos);
}

TEST_F(SchedulerTest, NoRecordMeansNoCatchUp) {
  now_ = Z(2024, 5, 1, 12, 0, 30);
  FakeExecutor executor;
  auto s = Make(R"(
[[job]]
name = "minutely"
type = "command"
command = "true"
schedule = "0 * * * * *"
misfire_grace = "1h"
)",
                executor);
  RunUntil(Z(2024, 5, 1, 12, 0, 59), {s.get()});
  EXPECT_TRUE(executor.started.empty());
}

TEST_F(SchedulerTest, JitterDelaysTheStartTheSameWayEverywhere) {
  FakeExecutor executor;
  auto s = Make(Job("skip", "jitter = \"300ms\"\n"), executor);
  AutoEnd(*s, executor, 10);
  RunPumped(kStart + 10500, {s.get()});
  ASSERT_GE(executor.started.size(), 9u);
  bool some_delay = false;
  for (const auto& r : executor.started) {
    EXPECT_EQ(r.fire_ms % 1000, 0);
    EXPECT_GE(r.planned_ms - r.fire_ms, 0);
    EXPECT_LT(r.planned_ms - r.fire_ms, 300);
    EXPECT_EQ(r.planned_ms - r.fire_ms, Scheduler::JitterFor(*r.job, r.fire_ms));
    some_delay = some_delay || r.planned_ms > r.fire_ms;
  }
  EXPECT_TRUE(some_delay);
}

TEST_F(SchedulerTest, TimeoutCancelsAndIsReportedAsTimeout) {
  FakeExecutor executor;
  auto s = Make(Job("skip", "timeout = \"500ms\"\n"), executor);
  RunUntil(kStart + 1000, {s.get()});
  ASSERT_EQ(executor.started.size(), 1u);
  RunRequest run = executor.started[0];
  RunUntil(kStart + 1499, {s.get()});
  EXPECT_FALSE(run.cancel->cancelled());
  RunUntil(kStart + 1500, {s.get()});
  EXPECT_TRUE(run.cancel->cancelled());
  EXPECT_EQ(run.cancel->reason(), CancelToken::Reason::kTimeout);
  EndLater(*s, run, 10, RunResult::kCancelled);
  RunUntil(kStart + 1600, {s.get()});
  EXPECT_NE(metrics_.Render().find("warden_job_runs_total{job=\"tick\",result=\"timeout\"} 1"),
            std::string::npos);
  EXPECT_NE(coordinator_.LastResult("tick")->find("\"timeout\""), std::string::npos);
}

TEST_F(SchedulerTest, AlertsAfterConsecutiveFailuresAndOneRecoveryNotice) {
  FakeExecutor executor;
  auto s = Make(Job("skip", "alert_after = 3\n"), executor);
  AutoEnd(*s, executor, 100, RunResult::kFailed);
  RunPumped(kStart + 2500, {s.get()});
  EXPECT_TRUE(alerts_.events.empty());
  RunPumped(kStart + 5500, {s.get()});
  ASSERT_EQ(alerts_.events.size(), 1u);  // at the third failure, not again at the 4th, 5th
  EXPECT_EQ(alerts_.events[0].kind, AlertEvent::Kind::kFailing);
  EXPECT_EQ(alerts_.events[0].failures, 3);
  auto_[0].result = RunResult::kOk;
  RunPumped(kStart + 8500, {s.get()});
  ASSERT_EQ(alerts_.events.size(), 2u);
  EXPECT_EQ(alerts_.events[1].kind, AlertEvent::Kind::kRecovered);
}

TEST_F(SchedulerTest, DeadlineRaisesOneAlertWhileRunning) {
  FakeExecutor executor;
  auto s = Make(Job("skip", "deadline = \"2s\"\n"), executor);
  RunUntil(kStart + 1000, {s.get()});
  RunUntil(kStart + 2999, {s.get()});
  EXPECT_TRUE(alerts_.events.empty());
  RunUntil(kStart + 3000, {s.get()});
  ASSERT_EQ(alerts_.events.size(), 1u);
  EXPECT_EQ(alerts_.events[0].kind, AlertEvent::Kind::kDeadline);
  RunUntil(kStart + 9000, {s.get()});
  EXPECT_EQ(alerts_.events.size(), 1u);
  EXPECT_FALSE(executor.started[0].cancel->cancelled());  // a deadline does not stop the run
}

TEST_F(SchedulerTest, LeasesAreRenewedWhileRunningAndExpireWhenTheHolderDies) {
  FakeExecutor a, b;
  const std::string job = Job("skip", "lease = \"3s\"\n");
  auto sa = Make(job, a, "a");
  RunUntil(kStart + 1000, {sa.get()});
  ASSERT_EQ(a.started.size(), 1u);
  // Still held 20 s later thanks to renewals: the other sidecar skips every fire time.
  auto sb = Make(job, b, "b");
  RunUntil(kStart + 20000, {sa.get(), sb.get()});
  EXPECT_TRUE(b.started.empty());
  EXPECT_EQ(coordinator_.Leases("tick"), 1u);
  // Sidecar a dies (stops polling): its lease expires within 3 s and b runs again.
  RunUntil(kStart + 24000, {sb.get()});
  ASSERT_FALSE(b.started.empty());
  EXPECT_LE(b.started[0].fire_ms, kStart + 24000);
  EXPECT_GT(b.started[0].fence, a.started[0].fence);
  // a comes back: its renewal finds the lease gone and stops its run.
  RunUntil(kStart + 24100, {sa.get()});
  EXPECT_TRUE(a.started[0].cancel->cancelled());
  EXPECT_EQ(a.started[0].cancel->reason(), CancelToken::Reason::kLeaseLost);
}

TEST_F(SchedulerTest, DrainStartsNothingNew) {
  FakeExecutor executor;
  auto s = Make(kEverySecond, executor);
  RunUntil(kStart + 1000, {s.get()});
  ASSERT_EQ(executor.started.size(), 1u);
  s->Drain();
  RunUntil(kStart + 5000, {s.get()});
  EXPECT_EQ(executor.started.size(), 1u);
  EXPECT_EQ(s->running(), 1u);
  std::string error;
  EXPECT_FALSE(s->RunNow("tick", &error));
  EXPECT_EQ(error, "the daemon is shutting down");
  EndLater(*s, executor.started[0], 1);
  RunUntil(kStart + 5100, {s.get()});
  EXPECT_EQ(s->running(), 0u);
}

TEST_F(SchedulerTest, ManualRunRespectsTheConcurrencyLimit) {
  FakeExecutor executor;
  auto s = Make(kEverySecond, executor);
  std::string error;
  auto id = s->RunNow("tick", &error);
  ASSERT_TRUE(id) << error;
  ASSERT_EQ(executor.started.size(), 1u);
  EXPECT_EQ(executor.started[0].trigger, RunTrigger::kManual);
  EXPECT_FALSE(s->RunNow("tick", &error));
  EXPECT_NE(error.find("already running"), std::string::npos) << error;
  EXPECT_FALSE(s->RunNow("nope", &error));
  EXPECT_EQ(error, "no job named \"nope\"");
}

TEST_F(SchedulerTest, ReloadKeepsTheScheduleAndAddsJobs) {
  FakeExecutor executor;
  auto s = Make(kEverySecond, executor);
  AutoEnd(*s, executor, 10);
  RunPumped(kStart + 2500, {s.get()});
  ASSERT_EQ(executor.started.size(), 2u);
  SchedulerConfig next = SchedulerConfig::Parse(std::string(kEverySecond) + R"(
[[job]]
name = "other"
type = "command"
command = "true"
schedule = "@every 500ms"
)",
                                                "test.toml", BuiltinJobTypes());
  s->Reload(next);
  RunPumped(kStart + 3500, {s.get()});
  std::vector<std::string> names;
  for (const auto& r : executor.started) names.push_back(r.job->name);
  // tick at 3000 only; other at 3000 and 3500 (it has no record: starts after the reload).
  EXPECT_EQ(std::count(names.begin(), names.end(), "tick"), 3);
  EXPECT_EQ(std::count(names.begin(), names.end(), "other"), 2);
  EXPECT_EQ(s->Status().size(), 2u);
}

TEST_F(SchedulerTest, CronInAZoneAcrossSpringForward) {
  now_ = Z(2024, 3, 10, 5, 0, 0);  // 00:00 EST
  FakeExecutor executor;
  auto s = Make(R"(
[[job]]
name = "nightly"
type = "command"
command = "true"
schedule = "30 2 * * *"
timezone = "America/New_York"
)",
                executor);
  AutoEnd(*s, executor, 10);
  RunPumped(Z(2024, 3, 10, 8, 0, 0), {s.get()});
  ASSERT_EQ(executor.started.size(), 1u);
  EXPECT_EQ(executor.started[0].fire_ms, Z(2024, 3, 10, 7, 0, 0));  // 03:00 EDT
}

}  // namespace
}  // namespace warden
