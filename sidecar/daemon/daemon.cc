#include "daemon/daemon.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/errors.h"
#include "base/time_format.h"
#include "common/clock.h"
#include "config/config_file.h"
#include "jobs/job_types.h"
#include "storage/redis/primary_record.h"

namespace warden {

namespace {

constexpr int64_t kStopHardLimitMs = 10000;  // after the grace: how long cancelled runs get
constexpr size_t kOutcomesKept = 1000;

nlohmann::json OutcomeJson(const RunOutcome& outcome) {
  nlohmann::json j = {{"state", "finished"},
                      {"result", RunResultName(outcome.result)},
                      {"rows", outcome.rows},
                      {"started", FormatIsoUtcMs(outcome.started_ms)},
                      {"finished", FormatIsoUtcMs(outcome.finished_ms)}};
  if (!outcome.error.empty()) j["error"] = outcome.error;
  if (!outcome.output.empty()) j["output"] = outcome.output;
  return j;
}

ControlServer::Reply Json(int status, const nlohmann::json& body) {
  return {status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
          "application/json"};
}

}  // namespace

Daemon::Daemon(Options options, Logger& logger, SignalEvents& signals)
    : options_(std::move(options)),
      logger_(logger),
      signals_(signals),
      coordinator_(options_.prefix),
      reconnect_backoff_(options_.backoff_initial_ms, options_.backoff_max_ms,
                         Backoff::Jitter::kEqual) {
  alerter_ = std::make_unique<WebhookAlerter>(logger_);
  JobRunner::Deps deps;
  deps.logger = &logger_;
  deps.metrics = &metrics_;
  deps.node = options_.config.daemon.node;
  types_ = options_.types != nullptr ? options_.types : &BuiltinJobTypes();
  deps.types = types_;
  deps.services.logger = &logger_;
  deps.services.metrics = &metrics_;
  deps.services.breakers = &breakers_;
  PassConnectionFlags(options_.flags, &deps.services);
  deps.services.redis_url = &options_.redis;
  deps.services.prefix = options_.prefix;
  deps.services.redis_timeout_ms = options_.timeout_ms;
  if (options_.configure_runner) options_.configure_runner(deps, logger_, metrics_, breakers_);
  runner_ = std::make_unique<JobRunner>(std::move(deps));
  executor_ = std::make_unique<ThreadExecutor>(
      [this](const RunRequest& request) { return runner_->Run(request); },
      [this](uint64_t id, RunOutcome outcome) {
        RememberOutcome(id, outcome);
        scheduler_->OnFinished(id, std::move(outcome));
      });
  Scheduler::Options scheduler_options;
  scheduler_options.node = options_.config.daemon.node;
  scheduler_ =
      std::make_unique<Scheduler>(options_.config, coordinator_, *executor_, logger_, &metrics_,
                                  alerter_.get(), SystemNowMs, scheduler_options);
  scheduler_->set_wake([this] { signals_.Wake(); });
}

Daemon::~Daemon() {
  if (control_) control_->Stop();
  if (console_) console_->Stop();
  executor_.reset();  // joins the run threads (none left unless abandoned)
}

void Daemon::StartControl() {
  const std::string& listen = options_.config.daemon.listen;
  if (listen.empty()) return;
  std::string host;
  int port = 0;
  SchedulerConfig::ParseListen(listen, &host, &port);
  ControlServer::Handlers handlers;
  handlers.metrics = [this] { return metrics_.Render(); };
  handlers.jobs = [this] { return OnLoop([this] { return JobsReply(); }); };
  handlers.run = [this](const std::string& name) {
    return OnLoop([this, name] { return RunReply(name); });
  };
  handlers.run_status = [this](uint64_t id) { return RunStatusReply(id); };
  handlers.token = options_.config.daemon.token;
  handlers.metrics_token = options_.config.daemon.metrics_token;
  if (options_.config.daemon.console) {
    Console::Options console;
    console.connect = [this] {
      return RedisConnection::Connect(options_.redis, options_.timeout_ms);
    };
    console.prefix = options_.prefix;
    console.node = options_.config.daemon.node;
    console.listen = listen;
    console_ = std::make_unique<Console>(std::move(console), logger_, [this] {
      return nlohmann::json::parse(OnLoop([this] { return JobsReply(); }, true).body, nullptr,
                                   false);
    });
    handlers.console = [this](const ControlServer::ConsoleRequest& request) {
      return console_->Handle(request);
    };
    handlers.next_event = [this](uint64_t* seq, int64_t wait_ms) {
      return console_->NextEvent(seq, wait_ms);
    };
    handlers.host_names = options_.config.daemon.console_hosts;
    handlers.host_names.push_back(options_.config.daemon.node);
  }
  control_ = std::make_unique<ControlServer>(std::move(handlers));
  std::string error;
  if (!control_->Start(host, port, &error)) {
    logger_.Warn("no /metrics, no job control endpoint and no console", {{"error", error}});
    control_.reset();
    console_.reset();
    return;
  }
  if (console_) console_->Start();
}

int Daemon::Run() {
  nlohmann::json fields = {{"redis", options_.redis.Describe()},
                           {"prefix", options_.prefix},
                           {"purge_interval", FormatDuration(options_.purge_interval_ms)},
                           {"jobs", options_.config.jobs.size()},
                           {"node", options_.config.daemon.node}};
  if (!options_.config.daemon.listen.empty()) fields["listen"] = options_.config.daemon.listen;
  StartControl();
  if (options_.redis.kind == RedisDeployment::Kind::kSentinel) {
    sentinel_watch_ = std::make_unique<SentinelWatch>(
        options_.redis, options_.timeout_ms,
        [this](const RedisNodeAddress& primary, const RedisNodeAddress& sentinel) {
          {
            std::lock_guard<std::mutex> lock(switch_mutex_);
            switched_to_.emplace(primary, sentinel);
          }
          signals_.Wake();
        },
        [this](const std::string& line) { logger_.Warn(line); });
  }
  logger_.Info("warden daemon started", fields);
  metrics_.SetGauge("warden_daemon_up", 1);

  bool draining = false;
  bool cancelled = false;
  int64_t drain_deadline = 0;
  int64_t cancel_deadline = 0;
  while (true) {
    int64_t now = SystemNowMs();
    if (signals_.stop_requested() && !draining) {
      draining = true;
      draining_ = true;                // the console's wait on this loop ends, then
      if (console_) console_->Stop();  // its thread, which asks this loop for the jobs
      scheduler_->Drain();
      drain_deadline = now + options_.config.daemon.shutdown_grace_ms;
      if (scheduler_->running() > 0) {
        logger_.Info(
            "stopping: starting nothing new, waiting for runs to finish",
            {{"running", scheduler_->running()},
             {"shutdown_grace", FormatDuration(options_.config.daemon.shutdown_grace_ms)}});
      }
    }
    if (draining) {
      if (scheduler_->running() == 0) break;
      if (!cancelled && now >= drain_deadline) {
        cancelled = true;
        cancel_deadline = now + kStopHardLimitMs;
        logger_.Warn("shutdown grace is over: asking runs to stop at their next checkpoint",
                     {{"running", scheduler_->running()}});
        scheduler_->CancelAll(CancelToken::Reason::kShutdown);
      }
      if (cancelled && now >= cancel_deadline) {
        // Their threads still use this daemon's objects: leave without destroying anything.
        // Their leases expire in Redis; an http_sync resumes from its last checkpoint.
        logger_.Error("runs did not stop; exiting without them",
                      {{"running", scheduler_->running()}});
        std::_Exit(kExitFailure);
      }
    }
    if (signals_.TakeReload()) Reload();
    RunTasks();
    FollowSwitch();
    if (!conn_ && now >= reconnect_at_ms_ && !Connect()) {
      reconnect_at_ms_ = SystemNowMs() + reconnect_backoff_.Next();
    }
    if (conn_ && !draining && SystemNowMs() >= next_purge_ms_) {
      PurgeTick();
      next_purge_ms_ = SystemNowMs() + options_.purge_interval_ms;
      if (!conn_) reconnect_at_ms_ = 0;  // the tick lost the connection: reconnect at once
    }
    int64_t wake = scheduler_->Poll(SystemNowMs());
    if (conn_ && !conn_->healthy()) {
      const std::string why =
          coordinator_.last_error().empty() ? "connection lost" : coordinator_.last_error();
      coordinator_.Attach(nullptr);
      store_.reset();
      conn_.reset();
      EnterOutage(why);
      reconnect_at_ms_ = 0;
      continue;
    }
    if (!conn_) wake = std::min(wake, reconnect_at_ms_);
    if (conn_ && !draining) wake = std::min(wake, next_purge_ms_);
    if (draining)
      wake = std::min({wake, cancelled ? cancel_deadline : drain_deadline, SystemNowMs() + 100});
    if (signals_.stop_requested() && !draining) continue;
    signals_.WaitUntil(wake);
  }
  if (control_) control_->Stop();
  logger_.Info("warden daemon stopping");
  return kExitOk;
}

bool Daemon::Connect() {
  try {
    RedisDeployment deployment = options_.redis;
    if (first_sentinel_) {
      auto& s = deployment.servers;
      auto it = std::find(s.begin(), s.end(), *first_sentinel_);
      if (it != s.end()) std::rotate(s.begin(), it, it + 1);
    }
    conn_.emplace(RedisConnection::Connect(deployment, options_.timeout_ms));
    store_ = std::make_unique<BlacklistStore>(
        *conn_, RedisSchema::For(conn_->deployment(), options_.prefix));
    coordinator_.Attach(&*conn_);
    coordinator_.Preload();
  } catch (const RedisError& e) {
    coordinator_.Attach(nullptr);
    store_.reset();
    conn_.reset();
    EnterOutage(e.what());
    return false;
  }
  NotePrimary();
  metrics_.SetGauge("warden_redis_connected", 1);
  if (in_outage_) {
    logger_.Info("redis connection restored",
                 {{"redis", options_.redis.Describe()},
                  {"primary", conn_->endpoint()},
                  {"found_via", conn_->found_via()},
                  {"outage", FormatDuration(SystemNowMs() - outage_started_ms_)}});
  }
  in_outage_ = false;
  reconnect_backoff_.Reset();
  return true;
}

void Daemon::NotePrimary() {
  try {
    if (auto failover =
            PrimaryRecord::Note(*conn_, RedisSchema::For(conn_->deployment(), options_.prefix))) {
      metrics_.SetGauge("warden_redis_failovers_seen", ++failovers_seen_);
      logger_.Warn(
          "redis primary changed (failover)",
          {{"from", failover->from}, {"to", failover->to}, {"found_via", conn_->found_via()}});
    }
  } catch (const RedisError& e) {
    // Refused (an ACL without these keys) or the connection broke: the loop sees the latter
    // (healthy() is false) and reconnects.
    logger_.Warn("cannot record the redis primary", {{"error", e.what()}});
  }
}

void Daemon::FollowSwitch() {
  std::optional<std::pair<RedisNodeAddress, RedisNodeAddress>> to;
  {
    std::lock_guard<std::mutex> lock(switch_mutex_);
    to.swap(switched_to_);
  }
  if (!to) return;
  // Asked first from now on, also when there is no connection to leave (an outage): the others
  // may still name the old primary, which may still answer as one.
  first_sentinel_ = to->second;
  if (!conn_) {
    reconnect_at_ms_ = 0;
    return;
  }
  if (conn_->endpoint() == to->first.ToString()) return;
  logger_.Warn("redis primary switched by the Sentinels (+switch-master); connecting to it",
               {{"from", conn_->endpoint()},
                {"to", to->first.ToString()},
                {"sentinel", to->second.ToString()}});
  coordinator_.Attach(nullptr);
  store_.reset();
  conn_.reset();
  reconnect_backoff_.Reset();
  reconnect_at_ms_ = 0;  // now, not after a backoff: nothing failed
}

void Daemon::EnterOutage(const std::string& why) {
  metrics_.SetGauge("warden_redis_connected", 0);
  if (in_outage_) return;
  in_outage_ = true;
  outage_started_ms_ = SystemNowMs();
  logger_.Warn("redis unavailable; retrying with backoff",
               {{"redis", options_.redis.Describe()}, {"error", why}});
}

void Daemon::PurgeTick() {
  try {
    int64_t now_ms = store_->ServerNowMs();
    int64_t total = 0;
    for (int64_t round = 0; round < options_.purge_max_rounds; ++round) {
      int64_t purged = store_->PurgeExpired(now_ms, options_.purge_limit);
      total += purged;
      if (purged < options_.purge_limit || signals_.stop_requested()) break;
    }
    if (total > 0) logger_.Info("purged expired bans", {{"count", total}});
    last_task_error_.clear();
  } catch (const RedisReplyError& e) {
    // Redis is up but refused (OOM, a key of the wrong type): say so once, keep trying.
    if (e.what() != last_task_error_) logger_.Error("purge failed", {{"error", e.what()}});
    last_task_error_ = e.what();
  } catch (const RedisError& e) {
    coordinator_.Attach(nullptr);
    store_.reset();
    conn_.reset();
    EnterOutage(e.what());
  }
}

void Daemon::Reload() {
  const std::string& path = options_.config_path;
  if (path.empty()) {
    logger_.Warn("SIGHUP: there is no config file to reload");
    return;
  }
  try {
    ConfigFile::Load(path);  // [redis] and the rest must be valid too
    SchedulerConfig next = SchedulerConfig::Load(path, *types_);
    if (next.daemon.listen != options_.config.daemon.listen) {
      logger_.Warn("[daemon] listen changed; it takes effect at the next restart",
                   {{"listen", options_.config.daemon.listen}});
      next.daemon.listen = options_.config.daemon.listen;
    }
    scheduler_->Reload(next);
    options_.config = std::move(next);
    logger_.Info("config reloaded", {{"config", path}, {"jobs", options_.config.jobs.size()}});
  } catch (const Error& e) {
    logger_.Error("config reload rejected; keeping the running configuration",
                  {{"config", path}, {"error", e.what()}});
  }
}

ControlServer::Reply Daemon::OnLoop(std::function<ControlServer::Reply()> task,
                                    bool until_draining) {
  auto promise = std::make_shared<std::promise<ControlServer::Reply>>();
  std::future<ControlServer::Reply> answer = promise->get_future();
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    tasks_.push_back([promise, task = std::move(task)] {
      try {
        promise->set_value(task());
      } catch (const std::exception& e) {
        promise->set_value(Json(500, {{"error", e.what()}}));
      }
    });
  }
  signals_.Wake();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (answer.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (until_draining && draining_) return Json(503, {{"error", "the daemon is stopping"}});
    if (std::chrono::steady_clock::now() >= deadline) {
      return Json(503, {{"error", "the daemon did not answer in time"}});
    }
  }
  return answer.get();
}

void Daemon::RunTasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

ControlServer::Reply Daemon::JobsReply() {
  nlohmann::json jobs = nlohmann::json::array();
  for (const Scheduler::JobStatus& status : scheduler_->Status()) {
    const JobSpec& job = *status.job;
    nlohmann::json j = {{"name", job.name},
                        {"type", job.type},
                        {"schedule", job.schedule_text},
                        {"timezone", job.time_zone},
                        {"overrun", OverrunPolicyName(job.overrun)},
                        {"enabled", job.enabled},
                        {"running_here", status.running},
                        {"next_fire", nullptr},
                        {"last", nullptr},
                        {"failures", nullptr},
                        {"progress", nullptr}};
    if (status.next_fire_ms) j["next_fire"] = FormatIsoUtcMs(*status.next_fire_ms);
    try {
      if (auto last = coordinator_.LastResult(job.name)) {
        j["last"] = nlohmann::json::parse(*last, nullptr, false);
      }
      j["failures"] = coordinator_.Failures(job.name);
      // A run going on anywhere in the fleet: rows done of total, rate, ETA, where.
      if (auto progress = coordinator_.Progress(job.name)) {
        nlohmann::json p = nlohmann::json::parse(*progress, nullptr, false);
        if (p.is_object()) j["progress"] = std::move(p);
      }
    } catch (const Error&) {
      // Redis down: no last result.
    }
    jobs.push_back(std::move(j));
  }
  return Json(200, jobs);
}

ControlServer::Reply Daemon::RunReply(const std::string& name) {
  std::string error;
  auto id = scheduler_->RunNow(name, &error);
  if (!id) {
    const int status = error.starts_with("no job named")          ? 404
                       : error.starts_with("cannot take a lease") ? 503
                                                                  : 409;
    return Json(status, {{"error", error}});
  }
  {
    std::lock_guard<std::mutex> lock(outcomes_mutex_);
    RunOutcome running;
    running.started_ms = -1;  // marks "running" unless the run already ended
    outcomes_.try_emplace(*id, running);
  }
  return Json(202, {{"run", *id}, {"job", name}, {"node", options_.config.daemon.node}});
}

void Daemon::RememberOutcome(uint64_t id, const RunOutcome& outcome) {
  std::lock_guard<std::mutex> lock(outcomes_mutex_);
  outcomes_[id] = outcome;
  while (outcomes_.size() > kOutcomesKept) outcomes_.erase(outcomes_.begin());
}

ControlServer::Reply Daemon::RunStatusReply(uint64_t id) {
  std::lock_guard<std::mutex> lock(outcomes_mutex_);
  auto it = outcomes_.find(id);
  if (it == outcomes_.end()) return Json(404, {{"error", "no such run started here"}});
  if (it->second.started_ms == -1) return Json(200, {{"state", "running"}});
  return Json(200, OutcomeJson(it->second));
}

}  // namespace warden
