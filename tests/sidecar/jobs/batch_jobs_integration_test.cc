// The job types members_migrate, cache_warm and dedupe, and [[cache]] refresh schedules, run by
// a real `warden daemon` against real MariaDB and Redis.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "support/free_port.h"
#include "support/mariadb_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

class BatchJobsTest : public MariaDbAndRedisSuite {
 protected:
  std::string Config(const std::string& rest) {
    return tmp_.Write("warden.toml", "[redis]\nurl = \"" + redis_->url() + "\"\n[mysql]\nurl = \"" +
                                         db_->url() + "\"\n[daemon]\nlisten = \"off\"\n" + rest);
  }
  ProcessOptions Options(const std::string& config, const std::vector<std::string>& args) {
    return WardenProcessOptions({.args = args, .config = config});
  }
  int64_t Count(const std::string& sql) { return std::stoll(*db_->Query(sql)[0][0]); }
  // 1,000 members, the even ids inactive for 400 days: 500 to move.
  void SeedMembers() {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    db_->Query(
        "CREATE TABLE member (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, "
        "last_login_time INT NOT NULL, KEY (last_login_time))");
    db_->Query("INSERT INTO member SELECT seq, CONCAT('m', seq), IF(seq % 2 = 0, " +
               std::to_string(now - 400 * 86400) + ", " + std::to_string(now) +
               ") FROM seq_1_to_1000");
  }
  TempDir tmp_{"warden-batch-jobs"};
};

TEST_F(BatchJobsTest, TheDaemonRunsEachType) {
  SeedMembers();
  db_->Query("CREATE TABLE contacts (id INT PRIMARY KEY, email VARCHAR(100), KEY (email))");
  db_->Query("INSERT INTO contacts SELECT seq, CONCAT('c', seq % 10) FROM seq_1_to_100");
  const std::string config = Config(R"(
[[cache]]
name = "stats"
sql = "SELECT COUNT(*) AS members FROM member"
key = "cache:stats"
ttl = "1h"
refresh = "@every 1s"

[[job]]
name = "archive-members"
type = "members_migrate"
schedule = "@every 1s"
args = ["--chunk", "100"]

[[job]]
name = "contacts-dedupe"
type = "dedupe"
schedule = "@every 1s"
table = "contacts"
key = "email"
keep = "highest-id"
)");

  RunResult check = test::Run(Options(config, {"config", "check"}));
  ASSERT_EQ(check.exit_code, 0) << Show(check);
  EXPECT_NE(check.out.find("job archive-members (members_migrate)"), std::string::npos)
      << check.out;
  EXPECT_NE(check.out.find("job contacts-dedupe (dedupe)"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("job cache:stats (cache_warm)"), std::string::npos) << check.out;

  Process daemon = Process::Start(Options(config, {"daemon"}));
  EXPECT_TRUE(PollUntil(
      [&] {
        return redis_->Command({"EXISTS", "cache:stats"}).integer == 1;
      },
      20s))
      << daemon.Stderr();
  EXPECT_TRUE(PollUntil([&] { return Count("SELECT COUNT(*) FROM member") == 500; }, 20s))
      << daemon.Stderr();
  EXPECT_TRUE(PollUntil([&] { return Count("SELECT COUNT(*) FROM contacts") == 10; }, 20s))
      << daemon.Stderr();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member"), 500);
  EXPECT_EQ(Count("SELECT MIN(id) FROM contacts"), 91) << "the highest id of each key stayed";
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(30s), 0) << daemon.Stderr();

  // The history counts what each run reported: members moved, duplicates deleted, rows of
  // a recomputed cache entry.
  EXPECT_EQ(Count("SELECT SUM(rows_done) FROM warden_job_runs WHERE job = 'archive-members'"), 500);
  EXPECT_EQ(Count("SELECT SUM(rows_done) FROM warden_job_runs WHERE job = 'contacts-dedupe'"), 90);
  EXPECT_EQ(Count("SELECT MAX(rows_done) FROM warden_job_runs WHERE job = 'cache:stats'"), 1);
}

// While a members_migrate run goes on, the daemon's GET /jobs (what the console's jobs panel
// shows) has its progress: rows done of the total to move, rate, ETA, which sidecar. It comes
// from Redis, so every sidecar of the fleet shows it, and it is gone once the run ends.
TEST_F(BatchJobsTest, AMigrationsProgressShowsWhileItRunsAndGoesWhenItEnds) {
  SeedMembers();
  const int port = FreePort();
  // 50 chunks with a rest of 100 ms after each: about 5 s, long enough to be seen going on.
  const std::string config = tmp_.Write(
      "warden.toml", "[redis]\nurl = \"" + redis_->url() + "\"\n[mysql]\nurl = \"" + db_->url() +
                         "\"\n[daemon]\nnode = \"side-a\"\nlisten = \"127.0.0.1:" +
                         std::to_string(port) + "\"\n" + R"(
[[job]]
name = "archive-members"
type = "members_migrate"
schedule = "@every 1h"
args = ["--chunk", "10", "--chunk-time", "0", "--throttle", "sleep=100ms"]
)");
  Process daemon = Process::Start(Options(config, {"daemon"}));
  HttpClient http;
  auto jobs = [&]() -> nlohmann::json {
    try {
      HttpResponse r = http.Send({.url = "http://127.0.0.1:" + std::to_string(port) + "/jobs"});
      nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
      return r.status == 200 && j.is_array() && j.size() == 1 ? j[0] : nlohmann::json();
    } catch (const std::exception&) {
      return nullptr;  // not listening yet
    }
  };
  ASSERT_TRUE(PollUntil([&] { return jobs().is_object(); }, 10s)) << daemon.Stderr();
  const nlohmann::json token = jobs();
  ASSERT_TRUE(token["progress"].is_null()) << token.dump();  // nothing runs yet
  RunResult run = test::Run(Options(config, {"job", "run", "archive-members"}));
  ASSERT_EQ(run.exit_code, 0) << Show(run);

  nlohmann::json progress;
  ASSERT_TRUE(PollUntil(
      [&] {
        progress = jobs()["progress"];
        return progress.is_object() && progress.value("done", 0) > 0;
      },
      20s))
      << daemon.Stderr();
  EXPECT_EQ(progress["total"], 500) << progress.dump();
  EXPECT_LT(progress["done"].get<int64_t>(), 500) << progress.dump();
  EXPECT_TRUE(progress["eta_s"].is_number()) << progress.dump();
  EXPECT_GT(progress["rows_per_s"].get<double>(), 0) << progress.dump();
  EXPECT_EQ(progress["node"], "side-a");
  EXPECT_EQ(redis_->Command({"EXISTS", "warden:job:archive-members:progress"}).integer, 1);

  EXPECT_TRUE(PollUntil([&] { return Count("SELECT COUNT(*) FROM member") == 500; }, 30s))
      << daemon.Stderr();
  EXPECT_TRUE(PollUntil([&] { return jobs()["progress"].is_null(); }, 10s)) << jobs().dump();
  EXPECT_EQ(jobs()["last"]["result"], "ok") << jobs().dump();
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(30s), 0) << daemon.Stderr();
}

TEST_F(BatchJobsTest, TheDaemonsOwnFlagsReachItsBatchJobs) {
  // No connection in the config file: the daemon has its servers from --redis and --mysql
  // only, and a batch job's child (warden cache warm) must reach the same ones.
  db_->Query("CREATE TABLE member (id BIGINT PRIMARY KEY)");
  db_->Query("INSERT INTO member SELECT seq FROM seq_1_to_7");
  const std::string config = tmp_.Write("flags-only.toml", R"(
[daemon]
listen = "off"

[[cache]]
name = "stats"
sql = "SELECT COUNT(*) AS members FROM member"
key = "cache:stats"
ttl = "1h"
refresh = "@every 1s"
)");
  Process daemon = Process::Start(WardenProcessOptions({.args = {"--prefix", "flags:", "daemon"},
                                                        .mysql = db_->url(),
                                                        .redis = redis_->url(),
                                                        .config = config}));
  EXPECT_TRUE(PollUntil(
      [&] {
        return redis_->Command({"EXISTS", "cache:stats"}).integer == 1;
      },
      20s))
      << daemon.Stderr();
  EXPECT_NE(redis_->Command({"HGET", "cache:stats", "body"}).str.find("7"), std::string::npos);
  // The daemon's leases carry its --prefix.
  EXPECT_FALSE(redis_->Command({"KEYS", "flags:*"}).elements.empty());
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(30s), 0) << daemon.Stderr();
}

TEST_F(BatchJobsTest, BadJobSettingsAreConfigErrors) {
  struct Case {
    std::string job;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"type = \"cache_warm\"\ncache = \"nope\"\n",
       "job \"j\": cache: no [[cache]] entry is named \"nope\""},
      {"type = \"dedupe\"\nkey = \"email\"\n", "job \"j\": table: missing (required)"},
      {"type = \"dedupe\"\ntable = \"contacts\"\nkey = \"email\"\nkeep = \"first\"\n",
       "keep: expected \"lowest-id\" or \"highest-id\""},
      {"type = \"members_migrate\"\ntable = \"x\"\n", "job \"j\": table: unknown key"},
  };
  for (const Case& c : cases) {
    const std::string config = Config("[[job]]\nname = \"j\"\nschedule = \"@every 1m\"\n" + c.job);
    RunResult r = test::Run(Options(config, {"config", "check"}));
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace warden::test
