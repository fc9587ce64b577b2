// `warden daemon` as the scheduler, as processes against real Redis and MariaDB: two daemons
// share the fire times, SIGKILL in the middle of a sync, SIGTERM grace, SIGHUP reload, bad
// configs, the job commands and /metrics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "net/http_client.h"
#include "support/fake_sink.h"
#include "support/fake_source.h"
#include "support/free_port.h"
#include "support/mariadb_server.h"
#include "support/poll_until.h"
#include "support/warden_fixture.h"

namespace warden::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class SchedulerDaemonTest : public WardenTest {
 protected:
  static void SetUpTestSuite() {
    WardenTest::SetUpTestSuite();
    db_ = std::make_unique<MariaDbServer>();
  }
  static void TearDownTestSuite() {
    db_.reset();
    WardenTest::TearDownTestSuite();
  }
  void SetUp() override {
    WardenTest::SetUp();
    MakeReady(*db_);
    port_ = FreePort();
  }

  // A config with [redis], [mysql], [daemon] and `jobs`.
  std::string Config(const std::string& jobs, const std::string& daemon_extra = "") {
    return tmp_.Write("warden.toml", "[redis]\nurl = \"" + redis_->url() + "\"\n[mysql]\nurl = \"" +
                                         db_->url() + "\"\n[daemon]\nlisten = \"127.0.0.1:" +
                                         std::to_string(port_) + "\"\n" + daemon_extra + jobs);
  }

  ProcessOptions Options(const std::string& config, std::vector<std::string> args) {
    ProcessOptions options = WardenOptions({}, false);
    options.argv.insert(options.argv.end(), {"--config", config});
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env["WARDEN_CONFIG"] = config;
    return options;
  }
  Process Daemon(const std::string& config, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"daemon"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Process::Start(Options(config, args));
  }
  RunResult Cli(const std::string& config, std::vector<std::string> args) {
    return test::Run(Options(config, std::move(args)));
  }
  static bool LogHas(const Process& p, const std::string& text) {
    return p.Stderr().find(text) != std::string::npos;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string Get(const std::string& path) {
    HttpClient http;
    HttpClient::Request request;
    request.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    return http.Send(request).body;
  }

  static inline std::unique_ptr<MariaDbServer> db_;
  int port_ = 0;
};

TEST_F(SchedulerDaemonTest, TwoDaemonsOnOneRedisRunEachFireTimeOnce) {
  const std::string fires = tmp_.File("fires");
  const std::string config = Config(
      "[[job]]\nname = \"tick\"\ntype = \"command\"\nschedule = \"@every 200ms\"\n"
      "command = \"echo $WARDEN_FIRE_TIME $WARDEN_FENCE >> " +
          fires + "\"\n",
      "node = \"a\"\n");
  std::string config_b = Slurp(config);
  config_b.replace(config_b.find("node = \"a\""), 10, "node = \"b\"");
  config_b.replace(config_b.find(std::to_string(port_)), std::to_string(port_).size(),
                   std::to_string(FreePort()));
  const std::string path_b = tmp_.Write("b.toml", config_b);
  Process a = Daemon(config);
  Process b = Daemon(path_b);
  ASSERT_TRUE(PollUntil([&] { return LogHas(a, "daemon started") && LogHas(b, "daemon started"); },
                        seconds(5)));
  std::this_thread::sleep_for(milliseconds(3000));
  a.Signal(SIGTERM);
  b.Signal(SIGTERM);
  EXPECT_EQ(a.Wait(seconds(5)), 0);
  EXPECT_EQ(b.Wait(seconds(5)), 0);

  std::map<int64_t, int> seen;
  std::istringstream lines(Slurp(fires));
  int64_t fire = 0, fence = 0, last_fence = 0;
  while (lines >> fire >> fence) {
    ++seen[fire];
    EXPECT_EQ(fire % 200, 0);
    EXPECT_NE(fence, last_fence);
    last_fence = fence;
  }
  EXPECT_GE(seen.size(), 12u);
  for (const auto& [f, n] : seen) EXPECT_EQ(n, 1) << "fire time " << f << " ran " << n << " times";
  // The history agrees: one run per fire time, whichever sidecar claimed it first.
  auto runs = nlohmann::json::parse(
      Cli(config, {"job", "history", "tick", "--json", "--limit", "1000"}).out);
  std::set<int64_t> history_fires;
  for (const auto& r : runs) history_fires.insert(r["fence"].get<int64_t>());
  EXPECT_EQ(runs.size(), history_fires.size());
  EXPECT_EQ(runs.size(), seen.size());
}

TEST_F(SchedulerDaemonTest, SigkillMidSyncThenRestartDeliversExactlyOnce) {
  FakeSource source(10000);
  FakeSink sink(0.05, 7, 300, 4);  // 4 ms per chunk: ~100 chunks take about a second
  const std::string config = Config(
      "[[job]]\nname = \"sync\"\ntype = \"http_sync\"\nschedule = \"@every 1s\"\nlease = \"2s\"\n"
      "chunk_size = 50\nretries = 10\nretry_backoff = \"5ms\"\nretry_backoff_max = \"50ms\"\n"
      "transfer_timeout = \"200ms\"\nbreaker_open = \"20ms\"\n"
      "[job.source]\nurl = \"" +
      source.url() +
      "\"\npage_size = 100\n"
      "[job.sink]\nurl = \"" +
      sink.url() + "\"\n");
  {
    Process daemon = Daemon(config);
    ASSERT_TRUE(PollUntil([&] { return sink.unique() >= 2000; }, seconds(15), milliseconds(5)))
        << daemon.Stderr();
    daemon.Kill();  // SIGKILL: no checkpoint, no goodbye
  }
  const size_t at_kill = sink.unique();
  EXPECT_LT(at_kill, 10000u);
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return sink.unique() == 10000; }, seconds(30), milliseconds(20)))
      << sink.unique() << "\n"
      << daemon.Stderr();
  EXPECT_EQ(sink.duplicates(), 0u);
  // The checkpoint follows B's last answer.
  EXPECT_TRUE(PollUntil(
      [&] {
        auto cp = db_->Query("SELECT last_id FROM warden_sync_checkpoints WHERE job = 'sync'");
        return cp.size() == 1 && cp[0][0] == "10000";
      },
      seconds(5)));
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(10)), 0) << daemon.Stderr();
}

TEST_F(SchedulerDaemonTest, SigtermLetsTheRunningJobFinishWithinTheGrace) {
  const std::string done = tmp_.File("done");
  const std::string config = Config(
      "[[job]]\nname = \"slow\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
      "command = \"sleep 1; echo finished > " +
          done + "\"\n",
      "shutdown_grace = \"10s\"\n");
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "daemon started"); }, seconds(5)));
  RunResult run = Cli(config, {"job", "run", "slow"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_NE(run.out.find("started slow"), std::string::npos);
  std::this_thread::sleep_for(milliseconds(200));
  daemon.Signal(SIGTERM);
  // Nothing new may start meanwhile.
  EXPECT_EQ(Cli(config, {"job", "run", "slow"}).exit_code, 1);
  auto status = daemon.Wait(seconds(8));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(Slurp(done), "finished\n");
  EXPECT_TRUE(LogHas(daemon, "waiting for runs to finish")) << daemon.Stderr();
  EXPECT_TRUE(LogHas(daemon, "result=ok")) << daemon.Stderr();
}

TEST_F(SchedulerDaemonTest, SigtermGraceOverStopsTheRun) {
  const std::string config = Config(
      "[[job]]\nname = \"stuck\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
      "command = [\"sleep\", \"30\"]\n",
      "shutdown_grace = \"300ms\"\n");
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "daemon started"); }, seconds(5)));
  ASSERT_EQ(Cli(config, {"job", "run", "stuck"}).exit_code, 0);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "run started"); }, seconds(5)));
  const auto before = std::chrono::steady_clock::now();
  daemon.Signal(SIGTERM);
  auto status = daemon.Wait(seconds(8));
  ASSERT_TRUE(status.has_value()) << daemon.Stderr();
  EXPECT_EQ(*status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(3));
  EXPECT_TRUE(LogHas(daemon, "shutdown grace is over")) << daemon.Stderr();
  EXPECT_TRUE(LogHas(daemon, "result=cancelled")) << daemon.Stderr();
  auto history = nlohmann::json::parse(Cli(config, {"job", "history", "--json"}).out);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["result"], "cancelled");
}

TEST_F(SchedulerDaemonTest, BadConfigIsRejectedWithFileKeyAndReason) {
  struct Case {
    std::string jobs;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[[job]]\nname = \"a\"\ntype = \"command\"\ncommand = \"true\"\nschedule = \"*/0 * * * "
       "*\"\n",
       ":11: job \"a\": schedule: bad cron expression \"*/0 * * * *\": minute: bad step \"0\""},
      {"[[job]]\nname = \"a\"\ntype = \"rsync\"\nschedule = \"@daily\"\n",
       ":9: job \"a\": type: unknown job type \"rsync\" (known: http_sync, sql, command, "
       "members_migrate, cache_warm, dedupe)"},
      {"[[job]]\nname = \"a\"\ntype = \"sql\"\nschedule = \"@daily\"\n",
       ":7: job \"a\": statement: missing (required)"},
  };
  for (const Case& c : cases) {
    const std::string config = Config(c.jobs);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"config", "check"}, std::vector<std::string>{"daemon"}}) {
      RunResult r = Cli(config, args);
      EXPECT_EQ(r.exit_code, 2) << Show(r);
      EXPECT_NE(r.err.find("warden: " + config + c.expected), std::string::npos) << Show(r);
    }
  }
}

TEST_F(SchedulerDaemonTest, SighupReloadsAndABadConfigKeepsTheOldOne) {
  const std::string config = Config(
      "[[job]]\nname = \"one\"\ntype = \"command\"\nschedule = \"@yearly\"\ncommand = \"true\"\n");
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "daemon started"); }, seconds(5)));
  const std::string good = Slurp(config) +
                           "[[job]]\nname = \"two\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
                           "command = \"true\"\n";
  WriteFile(config, good);
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "config reloaded"); }, seconds(5)));
  EXPECT_NE(Get("/jobs").find("\"two\""), std::string::npos);
  WriteFile(config, good +
                        "[[job]]\nname = \"three\"\ntype = \"command\"\nschedule = \"@often\"\n"
                        "command = \"true\"\n");
  daemon.Signal(SIGHUP);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "config reload rejected"); }, seconds(5)));
  EXPECT_TRUE(LogHas(daemon, "schedule: bad schedule")) << daemon.Stderr();
  const std::string jobs = Get("/jobs");
  EXPECT_NE(jobs.find("\"two\""), std::string::npos);
  EXPECT_EQ(jobs.find("\"three\""), std::string::npos);
  EXPECT_TRUE(daemon.Running());
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(5)), 0);
}

TEST_F(SchedulerDaemonTest, JobCommandsAndMetrics) {
  const std::string config = Config(
      "[[job]]\nname = \"hello\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
      "command = \"echo hello from $WARDEN_JOB\"\n"
      "[[job]]\nname = \"count\"\ntype = \"sql\"\nschedule = \"0 3 1 1 *\"\n"
      "timezone = \"Europe/Berlin\"\nstatement = \"UPDATE t SET n = n + 1\"\n"
      "[[job]]\nname = \"broken\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
      "command = \"echo nope >&2; exit 4\"\n");
  db_->Query("CREATE TABLE t (n INT)");
  db_->Query("INSERT INTO t VALUES (1), (2)");
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "daemon started"); }, seconds(5)));

  RunResult r = Cli(config, {"job", "run", "hello", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("hello: ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hello from hello"), std::string::npos) << r.out;
  r = Cli(config, {"job", "run", "count", "--wait", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], 2);
  r = Cli(config, {"job", "run", "broken", "--wait"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.out.find("exited with status 4: nope"), std::string::npos) << r.out;
  r = Cli(config, {"job", "run", "nope"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  r = Cli(config, {"job", "run", "hello", "--standalone"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);

  r = Cli(config, {"job", "history", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  auto history = nlohmann::json::parse(r.out);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[0]["job"], "hello");  // newest first: the standalone run
  EXPECT_EQ(history[0]["trigger"], "manual");
  EXPECT_EQ(history[1]["result"], "failed");
  EXPECT_EQ(history[1]["error"], "exited with status 4: nope");
  EXPECT_EQ(history[2]["rows"], 2);
  EXPECT_EQ(history[3]["output"], "hello from hello\n");
  r = Cli(config, {"job", "history", "count"});
  EXPECT_NE(r.out.find("ID  JOB    TRIGGER"), std::string::npos) << r.out;

  r = Cli(config, {"job", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  auto list = nlohmann::json::parse(r.out);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["last"]["result"], "ok");
  EXPECT_EQ(list[1]["timezone"], "Europe/Berlin");
  EXPECT_EQ(list[2]["last"]["result"], "failed");
  EXPECT_EQ(list[2]["running"], 0);
  r = Cli(config, {"job", "list"});
  EXPECT_NE(r.out.find("0 3 1 1 * (Europe/Berlin)"), std::string::npos) << r.out;

  const std::string metrics = Get("/metrics");
  EXPECT_NE(metrics.find("warden_job_runs_total{job=\"hello\",result=\"ok\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("warden_job_failures_total{job=\"broken\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("warden_job_duration_seconds_count{job=\"count\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("warden_job_lateness_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.find("warden_job_running{job=\"hello\"} 0"), std::string::npos);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(5)), 0);
}

TEST_F(SchedulerDaemonTest, TheControlEndpointAnswersOnlyWithItsToken) {
  const std::string token = "0123456789abcdef0123456789abcdef";
  const std::string token_file = tmp_.Write("control.token", token + "\n");
  const std::string config = Config(
      "[[job]]\nname = \"hello\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
      "command = \"echo hello\"\n"
      "[[job]]\nname = \"off\"\ntype = \"command\"\nschedule = \"@yearly\"\n"
      "command = \"echo never\"\nenabled = false\n",
      "token_file = \"" + token_file + "\"\n");
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return LogHas(daemon, "daemon started"); }, seconds(5)));

  auto send = [&](const std::string& method, const std::string& path,
                  const std::string& authorization, const std::string& body = "") {
    HttpClient http;
    HttpClient::Request request;
    request.method = method;
    request.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    request.body = body;
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    return http.Send(request);
  };
  EXPECT_EQ(send("GET", "/jobs", "").status, 401);
  EXPECT_EQ(send("GET", "/jobs", "Bearer wrong-token-wrong-token-xx").status, 401);
  EXPECT_EQ(send("POST", "/jobs/hello/run", "").status, 401);
  EXPECT_EQ(send("GET", "/runs/1", "").status, 401);
  EXPECT_EQ(send("GET", "/jobs", "Bearer " + token).status, 200);
  EXPECT_EQ(send("GET", "/metrics", "").status, 200);  // readable unless metrics_token
  EXPECT_EQ(send("GET", "/healthz", "").status, 200);
  EXPECT_EQ(send("POST", "/jobs/hello/run", "Bearer " + token, std::string(8192, 'x')).status, 413);
  // A disabled job is not run by hand either.
  HttpResponse disabled = send("POST", "/jobs/off/run", "Bearer " + token);
  EXPECT_EQ(disabled.status, 409);
  EXPECT_NE(disabled.body.find("disabled"), std::string::npos) << disabled.body;

  // The CLI sends the token of the config it reads.
  RunResult r = Cli(config, {"job", "run", "hello", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("hello: ok"), std::string::npos) << r.out;
  EXPECT_EQ(daemon.Stderr().find(token), std::string::npos);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(5)), 0);
}

TEST_F(SchedulerDaemonTest, ConfigCheckPrintsTheNextFiveFireTimes) {
  const std::string config = Config(
      "[[job]]\nname = \"nightly\"\ntype = \"command\"\nschedule = \"30 2 * * *\"\n"
      "timezone = \"America/New_York\"\ncommand = \"true\"\n");
  RunResult r = Cli(config, {"config", "check"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("job nightly (command): \"30 2 * * *\" America/New_York, overrun skip"),
            std::string::npos)
      << r.out;
  std::istringstream lines(r.out);
  std::string line;
  int times = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("  ")) {
      ++times;
      EXPECT_NE(line.find(" 02:30:00 -0"), std::string::npos) << line;  // local time shown
    }
  }
  EXPECT_EQ(times, 5);
}

// A webhook receiver on loopback that keeps what it was sent.
class Hook {
 public:
  Hook() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      bodies_.push_back(nlohmann::json::parse(req.body, nullptr, false));
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Hook() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<nlohmann::json> bodies_;
};

TEST_F(SchedulerDaemonTest, AlertWebhookAfterFailuresAndOnRecovery) {
  Hook hook;
  const std::string flag = tmp_.File("ok");
  const std::string config = Config(
      "[[job]]\nname = \"flaky\"\ntype = \"command\"\nschedule = \"@every 300ms\"\n"
      "alert_after = 2\nalert_webhook = \"" +
      hook.url() +
      "\"\n"
      "command = \"test -e " +
      flag + "\"\n");
  Process daemon = Daemon(config);
  ASSERT_TRUE(PollUntil([&] { return hook.bodies().size() >= 1; }, seconds(5))) << daemon.Stderr();
  EXPECT_TRUE(LogHas(daemon, "alert: warden job flaky failed 2 times in a row"));
  auto alert = hook.bodies()[0];
  EXPECT_EQ(alert["event"], "failing");
  EXPECT_EQ(alert["job"], "flaky");
  EXPECT_EQ(alert["failures"], 2);
  EXPECT_EQ(alert["error"], "exited with status 1");
  WriteFile(flag, "");
  ASSERT_TRUE(PollUntil([&] { return hook.bodies().size() >= 2; }, seconds(5))) << daemon.Stderr();
  EXPECT_EQ(hook.bodies()[1]["event"], "recovered");
  std::this_thread::sleep_for(milliseconds(700));
  EXPECT_EQ(hook.bodies().size(), 2u);  // one alert per streak, one recovery notice
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(5)), 0);
}

}  // namespace
}  // namespace warden::test
