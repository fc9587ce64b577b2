#include "cli/job_command.h"

#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/duration.h"
#include "base/errors.h"
#include "base/signal_events.h"
#include "base/time_format.h"
#include "common/clock.h"
#include "jobs/http_sync_job.h"
#include "jobs/job_runner.h"
#include "jobs/job_types.h"
#include "jobs/mysql_job_support.h"
#include "jobs/mysql_run_history.h"
#include "jobs/sync_store.h"
#include "jobs/webhook_alerter.h"
#include "net/http_client.h"
#include "scheduler/redis_coordinator.h"
#include "scheduler/scheduler.h"
#include "scheduler/thread_executor.h"
#include "storage/mysql/mysql_pool.h"

namespace warden {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

std::string Printable(std::string text, size_t max = 60) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

template <size_t N>
void WriteTable(std::ostream& out, const std::vector<std::array<std::string, N>>& rows) {
  std::array<size_t, N> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < N; ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < N; ++i) {
      line += row[i];
      if (i + 1 < N) line.append(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

std::string Duration(int64_t started, std::optional<int64_t> finished) {
  if (!finished) return "-";
  return FormatDuration(std::max<int64_t>(0, *finished - started));
}

}  // namespace

JobCommand::JobCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("job", "The scheduler's jobs: list, run, history, dead letters");
  app_->require_subcommand(1);

  list_ = app_->add_subcommand("list", "Every job: schedule, next fire time, last result");
  list_->add_flag("--json", json_, "Print JSON instead of a table");

  run_ = app_->add_subcommand("run", "Run a job now (through the running daemon)");
  run_->add_option("name", name_, "The job")->required()->type_name("NAME");
  run_->add_flag("--standalone", standalone_,
                 "Run it in this process instead of asking the daemon");
  run_->add_flag("--wait", wait_, "Wait for the run to end and exit 1 if it failed");
  run_->add_flag("--json", json_, "Print JSON");

  history_ = app_->add_subcommand("history", "The latest runs (from MariaDB)");
  history_->add_option("name", name_, "Only this job")->type_name("NAME");
  history_->add_option("--limit", limit_, "At most N runs (default 20)")
      ->check(CLI::Range(1, 10000))
      ->type_name("N");
  history_->add_flag("--json", json_, "Print JSON instead of a table");

  deadletters_ =
      app_->add_subcommand("deadletters", "Records an http_sync sink rejected repeatedly");
  deadletters_->add_option("name", name_, "The http_sync job")->required()->type_name("NAME");
  deadletters_->add_flag("--replay", replay_, "Send the pending ones to the sink again");
  deadletters_->add_flag("--all", all_, "Also list the ones replayed already");
  deadletters_->add_option("--limit", limit_, "At most N records (default 20)")
      ->check(CLI::Range(1, 100000))
      ->type_name("N");
  deadletters_->add_flag("--json", json_, "Print JSON instead of a table");
}

SchedulerConfig JobCommand::LoadConfig() {
  const Settings& settings = ctx_.settings();
  if (settings.config_path().empty()) {
    throw UsageError("no config file with jobs: pass --config PATH or set WARDEN_CONFIG (" +
                     ctx_.default_config_path() + " does not exist)");
  }
  return SchedulerConfig::Load(settings.config_path(), BuiltinJobTypes());
}

int JobCommand::Run() {
  if (list_->parsed()) return List();
  if (run_->parsed()) return RunJob();
  if (history_->parsed()) return History();
  return DeadLetters();
}

int JobCommand::List() {
  SchedulerConfig config = LoadConfig();
  const int64_t now = SystemNowMs();
  // Fleet-wide state from Redis; without Redis the list still shows the schedule.
  std::optional<RedisConnection> conn;
  RedisCoordinator coordinator(ctx_.settings().prefix());
  try {
    conn.emplace(ctx_.Connect());
    coordinator.Attach(&*conn);
  } catch (const RedisError& e) {
    ctx_.Warn(std::string(e.what()) + " (showing the config only)");
  }
  nlohmann::json jobs = nlohmann::json::array();
  for (const JobSpec& job : config.jobs) {
    nlohmann::json j = {{"name", job.name},
                        {"type", job.type},
                        {"schedule", job.schedule_text},
                        {"timezone", job.time_zone},
                        {"overrun", OverrunPolicyName(job.overrun)},
                        {"enabled", job.enabled},
                        {"next_fire", nullptr},
                        {"running", nullptr},
                        {"last", nullptr}};
    if (job.enabled) {
      if (auto next = job.schedule->Next(now)) j["next_fire"] = FormatIsoUtcMs(*next);
    }
    if (conn) {
      try {
        j["running"] = coordinator.Running(job.name);
        if (auto last = coordinator.LastResult(job.name)) {
          nlohmann::json parsed = nlohmann::json::parse(*last, nullptr, false);
          if (!parsed.is_discarded()) j["last"] = parsed;
        }
      } catch (const RedisError& e) {
        ctx_.Warn(e.what());
        conn.reset();
      }
    }
    jobs.push_back(std::move(j));
  }
  if (json_) {
    ctx_.out() << jobs.dump(2, ' ', false, kReplace) << '\n';
    return kExitOk;
  }
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"JOB", "TYPE", "SCHEDULE", "NEXT FIRE (UTC)", "RUNNING", "LAST", "LAST ERROR"});
  for (const auto& j : jobs) {
    std::string last = "-", error;
    if (j["last"].is_object()) {
      last = j["last"].value("result", "?");
      if (j["last"].contains("finished")) {
        last += " " + FormatIsoUtc(j["last"]["finished"].get<int64_t>());
      }
      error = Printable(j["last"].value("error", ""));
    }
    std::string schedule = j["schedule"].get<std::string>();
    if (j["timezone"] != "UTC") schedule += " (" + j["timezone"].get<std::string>() + ")";
    rows.push_back({j["name"].get<std::string>(), j["type"].get<std::string>(), schedule,
                    j["next_fire"].is_string() ? j["next_fire"].get<std::string>()
                                               : (j["enabled"].get<bool>() ? "never" : "disabled"),
                    j["running"].is_number() ? std::to_string(j["running"].get<int64_t>()) : "?",
                    last, error});
  }
  WriteTable(ctx_.out(), rows);
  return kExitOk;
}

int JobCommand::RunJob() {
  SchedulerConfig config = LoadConfig();
  const JobSpec* job = config.Find(name_);
  if (job == nullptr) {
    throw UsageError("no job named \"" + name_ + "\" in " + config.path);
  }
  return standalone_ ? RunStandalone(config, *job) : RunThroughDaemon(config, *job);
}

int JobCommand::RunThroughDaemon(const SchedulerConfig& config, const JobSpec& job) {
  const std::string& listen = config.daemon.listen;
  if (listen.empty()) {
    throw UsageError("the daemon's control endpoint is off ([daemon] listen); use --standalone");
  }
  std::string host;
  int port = 0;
  SchedulerConfig::ParseListen(listen, &host, &port);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const std::string base = "http://" + host + ":" + std::to_string(port);
  HttpClient http;
  HttpClient::Request request;
  request.method = "POST";
  request.url = base + "/jobs/" + job.name + "/run";
  if (!config.daemon.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config.daemon.token);
  }
  request.connect_timeout_ms = ctx_.settings().timeout_ms();
  request.timeout_ms = 10000;
  HttpResponse response;
  try {
    response = http.Send(request);
  } catch (const HttpError& e) {
    throw IoError("no daemon answers at " + listen + " ([daemon] listen): " + e.what() +
                  "; start `warden daemon` or use --standalone");
  }
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  const std::string error = body.is_object() ? body.value("error", "") : response.body;
  if (response.status == 404) throw UsageError(error);
  if (response.status == 401) {
    throw UsageError("the daemon at " + listen +
                     " asks for its token: set token_file in [daemon] of " +
                     (config.path.empty() ? std::string("the config file") : config.path));
  }
  if (response.status != 202 || !body.is_object() || !body.contains("run")) {
    throw IoError("the daemon did not start " + job.name + ": " +
                  (error.empty() ? "HTTP " + std::to_string(response.status) : error));
  }
  const uint64_t id = body["run"].get<uint64_t>();
  if (!wait_) {
    if (json_) {
      ctx_.out() << body.dump(-1, ' ', false, kReplace) << '\n';
    } else {
      ctx_.out() << "started " << job.name << " (run " << id << " on "
                 << body.value("node", "the daemon") << ")\n";
    }
    return kExitOk;
  }
  HttpClient::Request poll;
  poll.url = base + "/runs/" + std::to_string(id);
  poll.headers = request.headers;
  poll.connect_timeout_ms = request.connect_timeout_ms;
  poll.timeout_ms = 5000;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    HttpResponse status;
    try {
      status = http.Send(poll);
    } catch (const HttpError& e) {
      throw IoError(std::string("lost the daemon while waiting: ") + e.what());
    }
    nlohmann::json state = nlohmann::json::parse(status.body, nullptr, false);
    if (!state.is_object() || status.status != 200) {
      throw IoError("the daemon forgot run " + std::to_string(id));
    }
    if (state.value("state", "") == "running") continue;
    const std::string result = state.value("result", "?");
    if (json_) {
      state["job"] = job.name;
      ctx_.out() << state.dump(-1, ' ', false, kReplace) << '\n';
    } else {
      ctx_.out() << job.name << ": " << result << ", " << state.value("rows", 0) << " rows";
      if (state.contains("error")) ctx_.out() << ": " << state["error"].get<std::string>();
      ctx_.out() << '\n';
      if (state.contains("output")) ctx_.out() << state["output"].get<std::string>();
    }
    return result == "ok" ? kExitOk : kExitFailure;
  }
}

int JobCommand::RunStandalone(const SchedulerConfig& config, const JobSpec& job) {
  // The daemon's machinery in this process: the same lease (so it never overlaps with a run
  // elsewhere in the fleet), history, timeouts and alerts.
  RedisConnection conn = ctx_.Connect();
  RedisCoordinator coordinator(ctx_.settings().prefix());
  coordinator.Attach(&conn);
  Logger logger(Logger::Format::kText, ctx_.err());
  Metrics metrics;
  BreakerRegistry breakers;
  WebhookAlerter alerter(logger);
  std::unique_ptr<MysqlJobSupport> mysql = MysqlJobSupport::Create(ctx_.settings());
  JobRunner::Deps deps;
  deps.logger = &logger;
  deps.metrics = &metrics;
  deps.node = config.daemon.node;
  deps.types = &BuiltinJobTypes();
  deps.services.logger = &logger;
  deps.services.metrics = &metrics;
  deps.services.breakers = &breakers;
  PassConnectionFlags(ctx_.flags(), &deps.services);
  deps.services.redis_url = &ctx_.settings().redis();
  deps.services.prefix = ctx_.settings().prefix();
  deps.services.redis_timeout_ms = ctx_.settings().timeout_ms();
  if (mysql) mysql->Configure(deps, logger, metrics, breakers);
  JobRunner runner(std::move(deps));
  SignalEvents signals;
  signals.HandleSignals();
  std::optional<RunOutcome> result;
  std::unique_ptr<Scheduler> scheduler;
  ThreadExecutor executor([&runner](const RunRequest& r) { return runner.Run(r); },
                          [&](uint64_t id, RunOutcome outcome) {
                            result = outcome;
                            scheduler->OnFinished(id, std::move(outcome));
                          });
  SchedulerConfig only = config;
  only.jobs = {job};
  Scheduler::Options options;
  options.node = config.daemon.node;
  scheduler = std::make_unique<Scheduler>(only, coordinator, executor, logger, &metrics, &alerter,
                                          SystemNowMs, options);
  scheduler->set_wake([&signals] { signals.Wake(); });
  std::string error;
  auto id = scheduler->RunNow(job.name, &error);
  if (!id) throw IoError(error);
  scheduler->Drain();  // only this manual run, nothing scheduled
  bool cancelled = false;
  while (scheduler->running() > 0) {
    if (signals.stop_requested() && !cancelled) {
      cancelled = true;
      scheduler->CancelAll(CancelToken::Reason::kShutdown);
    }
    const int64_t wake = scheduler->Poll(SystemNowMs());
    signals.Wait(std::min<int64_t>(wake - SystemNowMs(), 200));
  }
  const RunOutcome& outcome = *result;
  if (json_) {
    nlohmann::json j = {{"job", job.name},
                        {"result", RunResultName(outcome.result)},
                        {"rows", outcome.rows},
                        {"started", FormatIsoUtcMs(outcome.started_ms)},
                        {"finished", FormatIsoUtcMs(outcome.finished_ms)}};
    if (!outcome.error.empty()) j["error"] = outcome.error;
    if (!outcome.output.empty()) j["output"] = outcome.output;
    ctx_.out() << j.dump(-1, ' ', false, kReplace) << '\n';
  } else {
    ctx_.out() << job.name << ": " << RunResultName(outcome.result) << ", " << outcome.rows
               << " rows";
    if (!outcome.error.empty()) ctx_.out() << ": " << outcome.error;
    ctx_.out() << '\n' << outcome.output;
  }
  return outcome.result == RunResult::kOk ? kExitOk : kExitFailure;
}

int JobCommand::History() {
  MysqlConnection conn = ctx_.ConnectMysql();
  conn.Execute("SET time_zone = '+00:00'");
  std::vector<RunRecord> runs = MysqlRunHistory::Recent(conn, name_, limit_);
  if (json_) {
    nlohmann::json out = nlohmann::json::array();
    for (const RunRecord& r : runs) {
      nlohmann::json j = {{"id", r.id},
                          {"job", r.job},
                          {"trigger", r.trigger},
                          {"node", r.node},
                          {"fence", r.fence},
                          {"fire_time", FormatIsoUtcMs(r.fire_ms)},
                          {"started", FormatIsoUtcMs(r.started_ms)},
                          {"finished", nullptr},
                          {"result", r.result},
                          {"rows", r.rows},
                          {"error", r.error},
                          {"output", r.output}};
      if (r.finished_ms) j["finished"] = FormatIsoUtcMs(*r.finished_ms);
      out.push_back(std::move(j));
    }
    ctx_.out() << out.dump(2, ' ', false, kReplace) << '\n';
    return kExitOk;
  }
  std::vector<std::array<std::string, 8>> rows;
  rows.push_back({"ID", "JOB", "TRIGGER", "STARTED (UTC)", "DURATION", "RESULT", "ROWS", "ERROR"});
  for (const RunRecord& r : runs) {
    rows.push_back({std::to_string(r.id), r.job, r.trigger, FormatIsoUtcMs(r.started_ms),
                    Duration(r.started_ms, r.finished_ms), r.result, std::to_string(r.rows),
                    Printable(r.error)});
  }
  WriteTable(ctx_.out(), rows);
  return kExitOk;
}

int JobCommand::DeadLetters() {
  SchedulerConfig config = LoadConfig();
  const JobSpec* job = config.Find(name_);
  if (job == nullptr) throw UsageError("no job named \"" + name_ + "\" in " + config.path);
  if (job->type != "http_sync") {
    throw UsageError("job \"" + name_ + "\" is not an http_sync job: it has no dead letters");
  }
  MysqlConnection conn = ctx_.ConnectMysql();
  conn.Execute("SET time_zone = '+00:00'");
  if (replay_) {
    std::vector<DeadLetter> pending = SyncStore::DeadLetters(conn, job->name, false, limit_);
    Logger logger(Logger::Format::kText, ctx_.err());
    auto [sent, failed] = HttpSyncJob::Replay(*job, conn, pending, &logger);
    if (json_) {
      ctx_.out()
          << nlohmann::json{{"job", job->name}, {"replayed", sent}, {"failed", failed}}.dump()
          << '\n';
    } else {
      ctx_.out() << "replayed " << sent << " of " << pending.size() << " dead letters of "
                 << job->name
                 << (failed > 0 ? " (" + std::to_string(failed) + " failed again)" : "") << '\n';
    }
    return failed == 0 ? kExitOk : kExitFailure;
  }
  std::vector<DeadLetter> letters = SyncStore::DeadLetters(conn, job->name, all_, limit_);
  if (json_) {
    nlohmann::json out = nlohmann::json::array();
    for (const DeadLetter& d : letters) {
      nlohmann::json record = nlohmann::json::parse(d.record, nullptr, false);
      nlohmann::json j = {{"id", d.id},
                          {"record_id", d.record_id},
                          {"record", record.is_discarded() ? nlohmann::json(d.record) : record},
                          {"error", d.error},
                          {"attempts", d.attempts},
                          {"created", FormatIsoUtcMs(d.created_ms)},
                          {"replayed", nullptr}};
      if (d.replayed_ms) j["replayed"] = FormatIsoUtcMs(*d.replayed_ms);
      if (!d.replay_error.empty()) j["replay_error"] = d.replay_error;
      out.push_back(std::move(j));
    }
    ctx_.out() << out.dump(2, ' ', false, kReplace) << '\n';
    return kExitOk;
  }
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"ID", "RECORD", "ATTEMPTS", "CREATED (UTC)", "REPLAYED", "ERROR"});
  for (const DeadLetter& d : letters) {
    rows.push_back({std::to_string(d.id), Printable(d.record_id, 40), std::to_string(d.attempts),
                    FormatIsoUtc(d.created_ms), d.replayed_ms ? FormatIsoUtc(*d.replayed_ms) : "-",
                    Printable(d.replay_error.empty() ? d.error : d.replay_error)});
  }
  WriteTable(ctx_.out(), rows);
  return kExitOk;
}

}  // namespace warden
