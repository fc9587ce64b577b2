// The job types members_migrate, cache_warm and dedupe, and [[cache]] refresh schedules, run by
// a real `warden daemon` against real MariaDB and Redis.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

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
  TempDir tmp_{"warden-batch-jobs"};
};

TEST_F(BatchJobsTest, TheDaemonRunsEachType) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  db_->Query(
      "CREATE TABLE member (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, "
      "last_login_time INT NOT NULL, KEY (last_login_time))");
  db_->Query("INSERT INTO member SELECT seq, CONCAT('m', seq), IF(seq % 2 = 0, " +
             std::to_string(now - 400 * 86400) + ", " + std::to_string(now) +
             ") FROM seq_1_to_1000");
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
  EXPECT_EQ(Count("SELECT SUM(rows_done) FROM warden_job_runs WHERE job = 'archive-members'"),
            500);
  EXPECT_EQ(Count("SELECT SUM(rows_done) FROM warden_job_runs WHERE job = 'contacts-dedupe'"),
            90);
  EXPECT_EQ(Count("SELECT MAX(rows_done) FROM warden_job_runs WHERE job = 'cache:stats'"), 1);
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
