// [[job]], [daemon] and [alerts] in warden.toml: what is accepted, and errors that name the
// file, the line, the key and the reason.
#include "scheduler/job_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "base/errors.h"
#include "jobs/command_job.h"
#include "jobs/http_sync_job.h"
#include "jobs/job_types.h"

namespace warden {
namespace {

std::string Error(const std::string& text) {
  try {
    SchedulerConfig::Parse(text, "w.toml", BuiltinJobTypes());
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return "";
}

const char* kFull = R"toml(
[redis]
url = "redis://127.0.0.1:6379/0"

[daemon]
listen = "127.0.0.1:9999"
shutdown_grace = "10s"
lease = "20s"
node = "edge-1"

[alerts]
webhook = "http://127.0.0.1:1/hook"
after = 2
format = "slack"

[[job]]
name = "sync-orders"
type = "http_sync"
schedule = "*/30 * * * * *"
timezone = "Europe/Berlin"
overrun = "queue"
misfire_grace = "2m"
jitter = "1s"
timeout = "10m"
deadline = "2m"
chunk_size = 50
rate_limit = 20
retries = 4
retry_backoff = "100ms"
retry_backoff_max = "5s"
retry_budget = 30
breaker_failures = 3
breaker_open = "2s"
connect_timeout = "1s"
transfer_timeout = "3s"
max_record_attempts = 2
id_field = "order_id"
[job.source]
url = "http://a.internal/orders"
pagination = "offset"
page_size = 200
records = "data"
headers = { Authorization = "Bearer x" }
[job.sink]
url = "http://b.internal/ingest"

[[job]]
name = "cleanup"
type = "sql"
schedule = "@daily"
statement = "DELETE FROM sessions WHERE expires_at < NOW()"
timeout = "30s"
alert_after = 1
alert_format = "json"

[[job]]
name = "backup"
type = "command"
schedule = "@every 1m30s"
command = ["/usr/bin/env", "true"]
env = { A = "1" }
overrun = "allow"
max_concurrent = 3
)toml";

TEST(JobConfig, ParsesEverything) {
  SchedulerConfig c = SchedulerConfig::Parse(kFull, "w.toml", BuiltinJobTypes());
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:9999");
  EXPECT_EQ(c.daemon.shutdown_grace_ms, 10000);
  EXPECT_EQ(c.daemon.node, "edge-1");
  ASSERT_EQ(c.jobs.size(), 3u);
  const JobSpec& sync = c.jobs[0];
  EXPECT_EQ(sync.type, "http_sync");
  EXPECT_EQ(sync.overrun, OverrunPolicy::kQueue);
  EXPECT_EQ(sync.misfire_grace_ms, 120000);
  EXPECT_EQ(sync.jitter_ms, 1000);
  EXPECT_EQ(sync.timeout_ms, 600000);
  EXPECT_EQ(sync.deadline_ms, 120000);
  EXPECT_EQ(sync.lease_ms, 20000);  // the daemon's
  EXPECT_EQ(sync.schedule->zone().name(), "Europe/Berlin");
  EXPECT_EQ(sync.Params<HttpSyncSettings>().chunk_size, 50);
  EXPECT_EQ(sync.Params<HttpSyncSettings>().retry.attempts, 5);
  EXPECT_EQ(sync.Params<HttpSyncSettings>().retry.budget, 30);
  EXPECT_EQ(sync.Params<HttpSyncSettings>().breaker.failures, 3);
  EXPECT_EQ(sync.Params<HttpSyncSettings>().pagination, HttpSyncSettings::Pagination::kOffset);
  EXPECT_EQ(sync.Params<HttpSyncSettings>().records_field, "data");
  EXPECT_EQ(sync.Params<HttpSyncSettings>().source_headers.at("Authorization"), "Bearer x");
  EXPECT_EQ(sync.Params<HttpSyncSettings>().id_field, "order_id");
  EXPECT_EQ(sync.alert.webhook, "http://127.0.0.1:1/hook");
  EXPECT_EQ(sync.alert.after_failures, 2);
  EXPECT_TRUE(sync.alert.slack);
  const JobSpec& cleanup = c.jobs[1];
  EXPECT_EQ(cleanup.type, "sql");
  EXPECT_EQ(cleanup.alert.after_failures, 1);
  EXPECT_FALSE(cleanup.alert.slack);
  const JobSpec& backup = c.jobs[2];
  EXPECT_EQ(backup.Params<CommandSettings>().argv,
            (std::vector<std::string>{"/usr/bin/env", "true"}));
  EXPECT_EQ(backup.max_concurrent, 3);
  EXPECT_EQ(backup.schedule->interval_ms(), 90000);
  EXPECT_EQ(c.Find("backup"), &c.jobs[2]);
  EXPECT_EQ(c.Find("nope"), nullptr);
}

TEST(JobConfig, NoJobsIsFine) {
  SchedulerConfig c =
      SchedulerConfig::Parse("[redis]\nurl = \"redis://x\"\n", "w.toml", BuiltinJobTypes());
  EXPECT_TRUE(c.jobs.empty());
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:9477");
  EXPECT_EQ(SchedulerConfig::Parse("[daemon]\nlisten = \"off\"\n", "w.toml", BuiltinJobTypes())
                .daemon.listen,
            "");
}

TEST(JobConfig, ErrorsNameFileLineKeyAndReason) {
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"command\"\ncommand = \"true\"\n"
                  "schedule = \"61 * * * *\"\n"),
            "w.toml:5: job \"a\": schedule: bad cron expression \"61 * * * *\": minute: 61 is "
            "out of range 0-59");
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"ftp\"\nschedule = \"@daily\"\n"),
            "w.toml:3: job \"a\": type: unknown job type \"ftp\" (known: http_sync, sql, command, "
            "members_migrate, cache_warm, dedupe)");
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"command\"\nschedule = \"@daily\"\n"),
            "w.toml:1: job \"a\": command: missing (required)");
  EXPECT_EQ(Error("[[job]]\ntype = \"command\"\n"), "w.toml:1: job[0]: name: missing (required)");
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"SELECT 1\"\n"),
            "w.toml:1: job \"a\": schedule: missing (required)");
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"SELECT 1\"\n"
                  "schedule = \"@daily\"\nschedul = \"x\"\n"),
            "w.toml:6: job \"a\": schedul: unknown key (known: name, type, schedule, timezone, "
            "overrun, max_concurrent, misfire_grace, jitter, timeout, deadline, lease, enabled, "
            "alert_webhook, alert_after, alert_format, statement, retries)");
  EXPECT_NE(Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"SELECT 1\"\n"
                  "schedule = \"@daily\"\ntimezone = \"Mars/Base\"\n")
                .find("w.toml:6: job \"a\": timezone: unknown time zone \"Mars/Base\""),
            std::string::npos);
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"SELECT 1\"\n"
                  "schedule = \"@daily\"\noverrun = \"wait\"\n"),
            "w.toml:6: job \"a\": overrun: unknown policy \"wait\" (known: skip, queue, replace, "
            "allow)");
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"SELECT 1\"\n"
                  "schedule = \"0 0 30 2 *\"\n"),
            "w.toml:5: job \"a\": schedule: \"0 0 30 2 *\" never fires (no matching date in five "
            "years)");
  EXPECT_EQ(Error("[[job]]\nname = \"a b\"\ntype = \"sql\"\n"),
            "w.toml:2: job[0]: name: \"a b\" is not a job name (1-64 letters, digits, - _ .)");
  EXPECT_EQ(
      Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"x\"\nschedule = \"@daily\"\n"
            "[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"x\"\nschedule = \"@daily\"\n"),
      "w.toml:7: job \"a\": name: another job has the same name");
  EXPECT_EQ(
      Error("[[job]]\nname = \"a\"\ntype = \"sql\"\nstatement = \"x\"\nschedule = \"@daily\"\n"
            "timeout = \"soon\"\n"),
      "w.toml:6: job \"a\": timeout: bad duration \"soon\": expected a number with a unit "
      "(ms, s, m, h, d, w) such as 30s, 10m, 1h30m or 7d");
  EXPECT_EQ(Error("[[job]]\nname = \"s\"\ntype = \"http_sync\"\nschedule = \"@daily\"\n"),
            "w.toml:1: job \"s\": source: missing (required for type http_sync)");
  EXPECT_EQ(Error("[[job]]\nname = \"s\"\ntype = \"http_sync\"\nschedule = \"@daily\"\n"
                  "[job.source]\nurl = \"ftp://x\"\n"),
            "w.toml:6: job \"s\": source: url: expected an http:// or https:// URL");
  EXPECT_EQ(Error("[[job]]\nname = \"s\"\ntype = \"http_sync\"\nschedule = \"@daily\"\n"
                  "[job.source]\nurl = \"http://a/x\"\n[job.sink]\n"),
            "w.toml:7: job \"s\": sink: set exactly one of url (an HTTP API) and table (a MariaDB "
            "table)");
  EXPECT_EQ(Error("[daemon]\nlisten = \"nowhere\"\n"),
            "w.toml:2: daemon: listen: expected HOST:PORT such as 127.0.0.1:9477, or \"off\"");
  EXPECT_EQ(Error("job = 3\n"), "w.toml:1: job: expected [[job]] tables, got an integer");
  EXPECT_NE(Error("[[job]\n").find("w.toml:1:"), std::string::npos);
  EXPECT_EQ(Error("[[job]]\nname = \"a\"\ntype = \"command\"\ncommand = \"x\"\n"
                  "schedule = \"@daily\"\nmax_concurrent = 2\n"),
            "w.toml:6: job \"a\": max_concurrent: only applies with overrun = \"allow\"");
}

TEST(JobConfig, ListenAddress) {
  std::string host;
  int port = 0;
  EXPECT_TRUE(SchedulerConfig::ParseListen("127.0.0.1:9477", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9477);
  EXPECT_TRUE(SchedulerConfig::ParseListen("[::1]:80", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(SchedulerConfig::ParseListen("127.0.0.1", &host, &port));
  EXPECT_FALSE(SchedulerConfig::ParseListen("x:0", &host, &port));
  EXPECT_FALSE(SchedulerConfig::ParseListen("x:70000", &host, &port));
}

TEST(JobConfig, TheConsoleIsOnByDefaultAndTakesMoreHostNames) {
  auto defaults = SchedulerConfig::Parse("[daemon]\n", "w.toml", BuiltinJobTypes());
  EXPECT_TRUE(defaults.daemon.console);
  EXPECT_TRUE(defaults.daemon.console_hosts.empty());
  auto config = SchedulerConfig::Parse(
      "[daemon]\nconsole = false\nconsole_hosts = [\"warden.example.com\"]\n", "w.toml",
      BuiltinJobTypes());
  EXPECT_FALSE(config.daemon.console);
  EXPECT_EQ(config.daemon.console_hosts, std::vector<std::string>{"warden.example.com"});
  EXPECT_NE(Error("[daemon]\nconsole = \"yes\"\n").find("console"), std::string::npos);
}

TEST(JobConfig, ControlEndpointOffLoopbackNeedsAToken) {
  for (const char* listen :
       {"0.0.0.0:9477", "[::]:9477", "10.1.2.3:9477", "edge-1:9477", "127.example.org:9477"}) {
    const std::string error = Error("[daemon]\nlisten = \"" + std::string(listen) + "\"\n");
    EXPECT_NE(error.find("reachable from other hosts: set token_file"), std::string::npos)
        << listen << ": " << error;
  }
  for (const char* listen : {"127.0.0.1:9477", "127.0.0.2:1", "[::1]:9477", "localhost:9"}) {
    EXPECT_NO_THROW(SchedulerConfig::Parse("[daemon]\nlisten = \"" + std::string(listen) + "\"\n",
                                           "w.toml", BuiltinJobTypes()))
        << listen;
  }
  EXPECT_NE(Error("[daemon]\ntoken_file = \"/nonexistent/token\"\n").find("cannot read"),
            std::string::npos);
  EXPECT_NE(Error("[daemon]\nmetrics_token = true\n").find("needs token_file"), std::string::npos);
}

TEST(JobConfig, TheTokenIsReadAndNeverShown) {
  char path[] = "/tmp/warden-token-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string short_token = "too-short\n";
  ASSERT_EQ(write(fd, short_token.data(), short_token.size()),
            static_cast<ssize_t>(short_token.size()));
  close(fd);
  const std::string text =
      "[daemon]\nlisten = \"0.0.0.0:9477\"\ntoken_file = \"" + std::string(path) + "\"\n";
  const std::string error = Error(text);
  EXPECT_NE(error.find("16 or more characters"), std::string::npos) << error;
  EXPECT_EQ(error.find("too-short"), std::string::npos) << error;

  std::ofstream(path) << "  0123456789abcdef0123456789abcdef \n";
  SchedulerConfig config = SchedulerConfig::Parse(text, "w.toml", BuiltinJobTypes());
  EXPECT_EQ(config.daemon.token, "0123456789abcdef0123456789abcdef");
  unlink(path);
}

}  // namespace
}  // namespace warden
