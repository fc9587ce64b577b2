// `warden members migrate|check|restore` against a real MariaDB: the right rows move, a kill -9
// at any point loses or duplicates nobody, logins during the migration stay, errors are one line.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/mysql/mysql_connection.h"
#include "support/mariadb_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kDay = 86400;

const nlohmann::json* Find(const std::vector<nlohmann::json>& events, const std::string& kind) {
  for (const auto& e : events) {
    if (e.value("event", "") == kind) return &e;
  }
  return nullptr;
}

class MembersTest : public test::MariaDbSuite {
 protected:
  void SetUp() override {
    MariaDbSuite::SetUp();
    now_ = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
    config_ = tmp_.Write("warden.toml", "");
  }

  // `n` members; id % 5 in {0, 1, 2} have not logged in for 400+ days (60%), the others did
  // within the last day.
  void MakeMembers(int64_t n, bool with_index = true) {
    db_->Query(
        "CREATE TABLE member (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "email VARCHAR(191) NOT NULL, name VARCHAR(64) NULL, "
        "last_login_time INT UNSIGNED NOT NULL, created_at DATETIME NOT NULL, "
        "UNIQUE KEY email (email)" +
        std::string(with_index ? ", KEY idx_last_login_time (last_login_time)" : "") +
        ") ENGINE=InnoDB");
    db_->Query(
        "INSERT INTO member SELECT seq, CONCAT('m', seq, '@example.com'), "
        "IF(seq % 7 = 0, NULL, CONCAT('Member ', seq)), "
        "IF(seq % 5 < 3, " +
        std::to_string(now_ - 400 * kDay) + " - seq, " + std::to_string(now_) +
        " - seq % 80000), '2020-01-01 00:00:00' "
        "FROM seq_1_to_" +
        std::to_string(n));
  }
  static bool Inactive(int64_t id) { return id % 5 < 3; }

  std::set<int64_t> Ids(const std::string& table) {
    std::set<int64_t> ids;
    for (const auto& row : db_->Query("SELECT id FROM " + table)) ids.insert(std::stoll(*row[0]));
    return ids;
  }
  int64_t Count(const std::string& sql) { return std::stoll(*db_->Query(sql)[0][0]); }
  bool TableExists(const std::string& table) {
    return Count(
               "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
               "DATABASE() AND TABLE_NAME = '" +
               table + "'") == 1;
  }

  // Every member in exactly one table, and in the right one once a run is complete.
  void ExpectAccounting(int64_t n, bool complete) {
    std::set<int64_t> member = Ids("member");
    std::set<int64_t> archive =
        TableExists("unconnected_member") ? Ids("unconnected_member") : std::set<int64_t>();
    ASSERT_EQ(static_cast<int64_t>(member.size() + archive.size()), n)
        << member.size() << " in member + " << archive.size() << " archived";
    for (int64_t id = 1; id <= n; ++id) {
      const bool in_member = member.count(id) == 1;
      const bool in_archive = archive.count(id) == 1;
      ASSERT_NE(in_member, in_archive) << "member " << id;
      if (in_archive) {
        ASSERT_TRUE(Inactive(id)) << "active member " << id << " was archived";
      }
      if (complete) {
        ASSERT_EQ(in_archive, Inactive(id)) << "member " << id;
      }
    }
  }

  // warden --mysql <the suite's database> `args`, with config_ and `env`.
  WardenCommand Command(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {}) {
    return {.args = args, .mysql = db_->url(), .config = config_, .env = env};
  }
  ProcessOptions WardenOptions(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env = {}) {
    return WardenProcessOptions(Command(args, env));
  }
  RunResult Warden(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {}) {
    return RunWarden(Command(args, env), std::nullopt, 60s);
  }
  void ExpectLoginsDuringTheMigrationStay(const std::vector<std::string>& extra);
  MysqlConnection Connect() {
    std::string error;
    return MysqlConnection::Connect(*MysqlUrl::Parse(db_->url(), &error));
  }
  TempDir tmp_{"warden-members"};
  std::string config_;
  int64_t now_ = 0;
};

TEST_F(MembersTest, MovesExactlyTheInactiveMembers) {
  MakeMembers(5000);
  const std::string before = *db_->Query(
      "SELECT SUM(CRC32(CONCAT_WS('#', id, email, IFNULL(name, 'NULL'), last_login_time, "
      "created_at))) FROM member WHERE id % 5 < 3")[0][0];

  RunResult r = Warden({"members", "migrate", "--chunk", "100", "--verify"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  auto events = JsonLines(r.out);
  const nlohmann::json* start = Find(events, "start");
  ASSERT_NE(start, nullptr) << r.out;
  EXPECT_EQ((*start)["to_move"], 3000);
  EXPECT_FALSE((*start)["resumed"].get<bool>());
  EXPECT_NE(Find(events, "created"), nullptr) << "the archive table is created";
  const nlohmann::json* done = Find(events, "done");
  ASSERT_NE(done, nullptr) << r.out;
  const nlohmann::json& summary = (*done)["summary"];
  EXPECT_EQ(summary["rows_moved"], 3000);
  EXPECT_TRUE(summary["complete"].get<bool>());
  EXPECT_GE(summary["chunks"].get<int>(), 2);
  EXPECT_GT(summary["longest_chunk_ms"].get<int>(), -1);
  EXPECT_TRUE(summary["verify"]["ok"].get<bool>()) << summary.dump();
  EXPECT_EQ(summary["verify"]["checksum"], summary["verify"]["archive_checksum"]);
  int chunk_events = 0;
  for (const auto& e : events) chunk_events += e.value("event", "") == "chunk";
  EXPECT_EQ(chunk_events, summary["chunks"].get<int>());

  ExpectAccounting(5000, true);
  // The archived rows are the rows that were in member, column for column, plus moved_at.
  EXPECT_EQ(*db_->Query("SELECT SUM(CRC32(CONCAT_WS('#', id, email, IFNULL(name, 'NULL'), "
                        "last_login_time, created_at))) FROM unconnected_member")[0][0],
            before);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member WHERE moved_at IS NULL"), 0);
  EXPECT_EQ(*db_->Query("SELECT status FROM warden_members_migration")[0][0], "done");

  // Nothing left to do: a second run moves nothing.
  RunResult again = Warden({"members", "migrate"});
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_EQ((*Find(JsonLines(again.out), "done"))["summary"]["rows_moved"], 0);
}

TEST_F(MembersTest, DryRunChangesNothingAndShowsThePlan) {
  MakeMembers(2000);
  RunResult r = Warden({"members", "migrate", "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json plan = nlohmann::json::parse(r.out);
  EXPECT_EQ(plan["to_move"], 1200);
  EXPECT_EQ(plan["members"], 2000);
  EXPECT_FALSE(plan["archive_exists"].get<bool>());
  EXPECT_EQ(plan["login_index"], "idx_last_login_time");
  EXPECT_EQ(plan["explain_count"][0]["key"], "idx_last_login_time") << plan.dump();
  EXPECT_EQ(plan["explain_chunk"][0]["key"], "PRIMARY") << plan.dump();

  RunResult text = Warden({"members", "migrate", "--dry-run", "--inactive-for", "30d"});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  EXPECT_NE(text.out.find("dry run: nothing changed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("to move:   1,200"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("idx_last_login_time"), std::string::npos) << text.out;

  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 2000);
  EXPECT_FALSE(TableExists("unconnected_member"));
  EXPECT_FALSE(TableExists("warden_members_migration"));
}

// kill -9 at each step of a chunk, and from outside while it runs; every rerun resumes.
TEST_F(MembersTest, SigkillAnywhereLosesNobodyAndRerunResumes) {
  constexpr int64_t kMembers = 6000;
  MakeMembers(kMembers);
  int64_t moved_before = 0;
  for (const char* point :
       {"members.after_insert@2", "members.after_insert@3", "members.after_delete@2",
        "members.before_commit@4", "members.after_commit@3"}) {
    SCOPED_TRACE(point);
    RunResult r = Warden({"members", "migrate", "--chunk", "150", "--chunk-time", "0", "--verify"},
                         {{"WARDEN_FAILPOINT", point}});
    ASSERT_EQ(r.exit_code, 128 + 9) << Show(r);
    ExpectAccounting(kMembers, false);
    const int64_t moved = Count("SELECT rows_moved FROM warden_members_migration");
    EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member"), moved)
        << "the run's count is committed with its rows";
    EXPECT_GT(moved, moved_before) << "each run resumes and makes progress";
    auto events = JsonLines(r.out);
    ASSERT_NE(Find(events, "start"), nullptr) << r.out;
    EXPECT_EQ((*Find(events, "start"))["resumed"].get<bool>(), moved_before > 0) << r.out;
    moved_before = moved;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM warden_members_migration"), 1) << "one run, resumed";

  // Killed from outside once progress shows.
  ProcessOptions options = WardenOptions(
      {"members", "migrate", "--chunk", "20", "--chunk-time", "0", "--throttle", "sleep=5ms"});
  options.stdout_path = tmp_.File("progress.jsonl");
  Process p = Process::Start(options);
  ASSERT_TRUE(PollUntil(
      [&] { return JsonLines(ReadFile(options.stdout_path)).size() >= 6 || !p.Running(); }, 20s));
  ASSERT_TRUE(p.Running()) << p.Stdout() << p.Stderr();
  p.Kill();
  ExpectAccounting(kMembers, false);

  RunResult last = Warden({"members", "migrate", "--verify"});
  ASSERT_EQ(last.exit_code, 0) << Show(last);
  auto events = JsonLines(last.out);
  EXPECT_TRUE((*Find(events, "start"))["resumed"].get<bool>());
  EXPECT_GT((*Find(events, "start"))["already_moved"].get<int64_t>(), 0);
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_TRUE(summary["complete"].get<bool>());
  EXPECT_EQ(summary["run_rows_moved"], kMembers * 3 / 5);
  // The checksum was kept through the kills only by the runs that had --verify; the counts hold.
  EXPECT_EQ(summary["verify"]["in_both_tables"], 0);
  EXPECT_EQ(summary["verify"]["archived"], kMembers * 3 / 5);
  ExpectAccounting(kMembers, true);
}

// Inactive members log in while a migration (with `extra` arguments) walks the table: those
// whose login found them stay, the others are archived, nobody is lost.
void MembersTest::ExpectLoginsDuringTheMigrationStay(const std::vector<std::string>& extra) {
  constexpr int64_t kMembers = 20000;
  MakeMembers(kMembers);
  std::vector<std::string> args = {"members",      "migrate", "--chunk",    "100",
                                   "--chunk-time", "0",       "--throttle", "sleep=2ms"};
  args.insert(args.end(), extra.begin(), extra.end());
  ProcessOptions options = WardenOptions(args);
  Process p = Process::Start(options);

  // Inactive members log in while the migration walks the table, from both ends.
  MysqlConnection app = Connect();
  MysqlStatement login = app.Prepare("UPDATE member SET last_login_time = ? WHERE id = ?");
  std::map<int64_t, bool> logged_in;  // id -> the UPDATE found the row in member
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> pick(1, kMembers);
  while (p.Running() && logged_in.size() < 3000) {
    int64_t id = pick(rng);
    if (!Inactive(id) || logged_in.count(id)) continue;
    logged_in[id] = login.Execute({now_, id}).affected_rows == 1;
  }
  ASSERT_EQ(p.Wait(60s), 0) << p.Stdout() << p.Stderr();
  ASSERT_GT(logged_in.size(), 100u) << "the migration was too fast to race with";

  std::set<int64_t> member = Ids("member");
  std::set<int64_t> archive = Ids("unconnected_member");
  int stayed = 0;
  for (const auto& [id, found] : logged_in) {
    if (found) {
      EXPECT_EQ(member.count(id), 1u) << "member " << id << " logged in and was archived";
      ++stayed;
    } else {
      EXPECT_EQ(archive.count(id), 1u) << "member " << id << " was archived before logging in";
    }
  }
  EXPECT_GT(stayed, 0);
  EXPECT_EQ(static_cast<int64_t>(member.size() + archive.size()), kMembers);
  for (int64_t id = 1; id <= kMembers; ++id) {
    ASSERT_NE(member.count(id), archive.count(id)) << id;
    if (!Inactive(id)) {
      ASSERT_EQ(member.count(id), 1u) << id;
    }
    if (Inactive(id) && !logged_in.count(id)) {
      ASSERT_EQ(archive.count(id), 1u) << id;
    }
  }
}

TEST_F(MembersTest, MembersWhoLogInDuringTheMigrationStay) {
  ExpectLoginsDuringTheMigrationStay({});
}

TEST_F(MembersTest, MembersWhoLogInDuringAParallelMigrationStay) {
  ExpectLoginsDuringTheMigrationStay({"--parallel", "3"});
}

// A row that enters a chunk's range unlocked (an active member whose login time is set back
// while the chunk is between its copy and its DELETE) makes the DELETE's count differ from the
// copy's: the chunk is rolled back and moved row by row, the newcomer with it.
TEST_F(MembersTest, ARowThatEntersAChunkUnlockedIsMovedRowByRow) {
  constexpr int64_t kMembers = 2000;
  MakeMembers(kMembers);
  const std::string go = tmp_.File("go");
  ProcessOptions options =
      WardenOptions({"members", "migrate", "--chunk", "100", "--chunk-time", "0", "--verify"},
                    {{"WARDEN_FAILPOINT", "members.after_insert@2:wait=" + go}});
  Process p = Process::Start(options);
  ASSERT_TRUE(
      PollUntil([&] { return access((go + ".waiting").c_str(), F_OK) == 0 || !p.Running(); }, 30s));
  ASSERT_TRUE(p.Running()) << p.Stdout() << p.Stderr();
  // The second chunk has copied and locked the next 100 inactive members after the committed
  // cursor; the first active member after the cursor lies in its range and is not locked.
  const int64_t cursor = Count("SELECT last_id FROM warden_members_migration");
  int64_t newcomer = cursor + 1;
  while (Inactive(newcomer)) ++newcomer;
  db_->Query("UPDATE member SET last_login_time = 1 WHERE id = " + std::to_string(newcomer));
  WriteFile(go, "");
  ASSERT_EQ(p.Wait(60s), 0) << p.Stdout() << p.Stderr();

  auto events = JsonLines(p.Stdout());
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_EQ(summary["fallbacks"], 1) << summary.dump();
  EXPECT_EQ(summary["rows_moved"], kMembers * 3 / 5 + 1);
  EXPECT_TRUE(summary["verify"]["ok"].get<bool>()) << summary.dump();
  int fallback_chunks = 0;
  for (const auto& e : events) fallback_chunks += e.value("fallback", false);
  EXPECT_EQ(fallback_chunks, 1);

  std::set<int64_t> member = Ids("member");
  std::set<int64_t> archive = Ids("unconnected_member");
  for (int64_t id = 1; id <= kMembers; ++id) {
    const bool archived = Inactive(id) || id == newcomer;
    ASSERT_EQ(archive.count(id), archived ? 1u : 0u) << id;
    ASSERT_EQ(member.count(id), archived ? 0u : 1u) << id;
  }
}

// --parallel: stripes of the id range at once, a connection each; the same rows end up moved.
TEST_F(MembersTest, ParallelStripesMoveExactlyTheInactiveMembers) {
  constexpr int64_t kMembers = 6000;
  MakeMembers(kMembers);
  RunResult r = Warden({"members", "migrate", "--parallel", "3", "--chunk", "100", "--chunk-time",
                        "0", "--verify", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  auto events = JsonLines(r.out);
  EXPECT_EQ((*Find(events, "start"))["parallel"], 3);
  std::set<int64_t> stripes;
  for (const auto& e : events) {
    if (e.value("event", "") == "chunk") stripes.insert(e["stripe"].get<int64_t>());
  }
  EXPECT_EQ(stripes, (std::set<int64_t>{0, 1, 2}));
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_TRUE(summary["complete"].get<bool>()) << summary.dump();
  EXPECT_EQ(summary["rows_moved"], kMembers * 3 / 5);
  EXPECT_TRUE(summary["verify"]["ok"].get<bool>()) << summary.dump();
  ExpectAccounting(kMembers, true);
  // Done: the cursor stands at the last inactive member (6000 % 5 == 0: inactive).
  EXPECT_EQ(Count("SELECT last_id FROM warden_members_migration"), kMembers);
  EXPECT_EQ(Count("SELECT rows_moved FROM warden_members_migration"), kMembers * 3 / 5);
}

// A parallel run stopped early: the upper stripe moved rows above the cursor, yet every
// inactive member at or below the cursor is moved, so a resumed run skips nobody.
TEST_F(MembersTest, AStoppedParallelRunKeepsItsCursorBelowEveryUnmovedMember) {
  constexpr int64_t kMembers = 6000;
  MakeMembers(kMembers);
  // The rests between chunks let the second stripe's connection start before the budget ends.
  RunResult r = Warden({"members", "migrate", "--parallel", "2", "--chunk", "100", "--chunk-time",
                        "0", "--max-rows", "1200", "--throttle", "sleep=50ms", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const auto events = JsonLines(r.out);
  ASSERT_NE(Find(events, "done"), nullptr) << r.out;
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_EQ(summary["stopped"], "max-rows") << summary.dump();
  EXPECT_EQ(summary["rows_moved"], 1200);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member"), 1200);
  ExpectAccounting(kMembers, false);
  const int64_t cursor = Count("SELECT COALESCE(last_id, 0) FROM warden_members_migration");
  EXPECT_LT(cursor, kMembers / 2) << "the first stripe (ids 1-3000, 1800 inactive) cannot finish";
  EXPECT_GT(Count("SELECT COUNT(*) FROM unconnected_member WHERE id > " + std::to_string(cursor)),
            0)
      << "the second stripe moved rows above the cursor";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member WHERE id <= " + std::to_string(cursor) +
                  " AND last_login_time < " + std::to_string(now_ - 365 * kDay)),
            0)
      << "an inactive member at or below the cursor was left behind";

  RunResult rest = Warden({"members", "migrate", "--parallel", "2", "--verify", "--json"});
  ASSERT_EQ(rest.exit_code, 0) << Show(rest);
  const auto rest_events = JsonLines(rest.out);
  ASSERT_NE(Find(rest_events, "done"), nullptr) << rest.out;
  const nlohmann::json& done = (*Find(rest_events, "done"))["summary"];
  EXPECT_TRUE(done["resumed"].get<bool>());
  EXPECT_EQ(done["run_rows_moved"], kMembers * 3 / 5);
  // Rows the first invocation archived above the cursor carry the run's moved_at too: a chunk
  // must still end at its own last row, not at one of theirs.
  EXPECT_EQ(done["fallbacks"], 0) << done.dump();
  EXPECT_TRUE(done["complete"].get<bool>());
  ExpectAccounting(kMembers, true);
}

// --max-rows exactly what is left: a parallel run moves it all and is complete, though the
// stripes' budget runs out before each has read its (empty) tail.
TEST_F(MembersTest, AParallelRunWithMaxRowsOfWhatIsLeftCompletes) {
  constexpr int64_t kMembers = 6000;
  MakeMembers(kMembers);
  // The stripes are (0, 3000] and (3000, 6000]. The upper one holds one inactive member (6000)
  // and finishes first; the lower one's last inactive member is 2995, so after the budget is
  // spent it still has an empty tail (2995, 3000] to walk.
  db_->Query("DELETE FROM member WHERE id BETWEEN 2996 AND 5999 AND id % 5 < 3");
  const int64_t inactive = Count("SELECT COUNT(*) FROM member WHERE last_login_time < " +
                                 std::to_string(now_ - 365 * kDay));
  RunResult r = Warden({"members", "migrate", "--parallel", "2", "--chunk", "100", "--chunk-time",
                        "0", "--max-rows", std::to_string(inactive), "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const auto events = JsonLines(r.out);
  ASSERT_NE(Find(events, "done"), nullptr) << r.out;
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_EQ(summary["rows_moved"], inactive);
  EXPECT_TRUE(summary["complete"].get<bool>()) << summary.dump();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM warden_members_migration WHERE status = 'done'"), 1);
}

// kill -9 of a parallel run, at steps of either stripe's chunks: nobody lost, the rerun resumes.
TEST_F(MembersTest, SigkillOfAParallelRunLosesNobody) {
  constexpr int64_t kMembers = 6000;
  MakeMembers(kMembers);
  for (const char* point : {"members.after_insert@3", "members.after_delete@4",
                            "members.before_commit@5", "members.after_commit@6"}) {
    SCOPED_TRACE(point);
    RunResult r = Warden({"members", "migrate", "--parallel", "2", "--chunk", "150", "--chunk-time",
                          "0", "--verify"},
                         {{"WARDEN_FAILPOINT", point}});
    ASSERT_EQ(r.exit_code, 128 + 9) << Show(r);
    ExpectAccounting(kMembers, false);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member"),
              Count("SELECT rows_moved FROM warden_members_migration"))
        << "the run's count is committed with its rows";
    const int64_t cursor = Count("SELECT COALESCE(last_id, 0) FROM warden_members_migration");
    EXPECT_EQ(Count("SELECT COUNT(*) FROM member WHERE id <= " + std::to_string(cursor) +
                    " AND last_login_time < " + std::to_string(now_ - 365 * kDay)),
              0);
  }
  RunResult last = Warden({"members", "migrate", "--parallel", "2", "--verify", "--json"});
  ASSERT_EQ(last.exit_code, 0) << Show(last);
  const auto events = JsonLines(last.out);
  ASSERT_NE(Find(events, "done"), nullptr) << last.out;
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_EQ(summary["run_rows_moved"], kMembers * 3 / 5);
  EXPECT_TRUE(summary["verify"]["ok"].get<bool>()) << summary.dump();
  ExpectAccounting(kMembers, true);
}

TEST_F(MembersTest, RestoreMovesAMemberBack) {
  MakeMembers(500);
  ASSERT_EQ(Warden({"members", "migrate"}).exit_code, 0);
  ASSERT_EQ(Count("SELECT COUNT(*) FROM unconnected_member WHERE id = 10"), 1);

  RunResult r = Warden({"members", "restore", "10"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("restored member 10"), std::string::npos) << r.out;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member WHERE id = 10"), 0);
  EXPECT_GE(Count("SELECT last_login_time FROM member WHERE id = 10"), now_ - 5);
  EXPECT_EQ(*db_->Query("SELECT email FROM member WHERE id = 10")[0][0], "m10@example.com");

  r = Warden({"members", "restore", "--email", "m11@example.com", "--keep-login-time", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(nlohmann::json::parse(r.out)["outcome"], "restored");
  EXPECT_LT(Count("SELECT last_login_time FROM member WHERE id = 11"), now_ - 365 * kDay);

  r = Warden({"members", "restore", "10"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("active already"), std::string::npos) << r.out;

  r = Warden({"members", "restore", "999999"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(r.err, "warden: no member with id 999999 in member or unconnected_member\n");

  r = Warden({"members", "restore"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  r = Warden({"members", "restore", "abc"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  ExpectAccounting(500, false);
}

TEST_F(MembersTest, MaxRowsStopsAndTheNextRunContinues) {
  MakeMembers(3000);
  RunResult r = Warden({"members", "migrate", "--max-rows", "500", "--chunk", "64"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const nlohmann::json summary = (*Find(JsonLines(r.out), "done"))["summary"];
  EXPECT_EQ(summary["rows_moved"], 500);
  EXPECT_FALSE(summary["complete"].get<bool>());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member"), 500);

  RunResult rest = Warden({"members", "migrate", "--inactive-for", "1000d"});
  ASSERT_EQ(rest.exit_code, 0) << Show(rest);
  auto events = JsonLines(rest.out);
  EXPECT_TRUE((*Find(events, "start"))["resumed"].get<bool>()) << "keeps the run's cutoff";
  EXPECT_EQ((*Find(events, "done"))["summary"]["rows_moved"], 1300);
  ExpectAccounting(3000, true);
}

TEST_F(MembersTest, PausesWhileTheServerIsBusy) {
  MakeMembers(1000);
  // A second connection keeps Threads_running above 1 for a while.
  std::thread busy([this] {
    MysqlConnection c = Connect();
    c.Query("SELECT SLEEP(1.5)");
  });
  std::this_thread::sleep_for(200ms);
  RunResult r = Warden({"members", "migrate", "--throttle", "threads_running=1,check=100ms"});
  busy.join();
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  auto events = JsonLines(r.out);
  const nlohmann::json* pause = Find(events, "pause");
  ASSERT_NE(pause, nullptr) << r.out;
  EXPECT_NE((*pause)["reason"].get<std::string>().find("Threads_running="), std::string::npos);
  EXPECT_NE(Find(events, "resume"), nullptr);
  EXPECT_GT((*Find(events, "done"))["summary"]["paused_ms"].get<int>(), 500);
  ExpectAccounting(1000, true);
}

TEST_F(MembersTest, CheckReportsAMissingIndex) {
  MakeMembers(100, /*with_index=*/false);
  RunResult r = Warden({"members", "check"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.out.find("no index on member.last_login_time"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ALTER TABLE `member` ADD INDEX `idx_last_login_time` "
                       "(`last_login_time`), ALGORITHM=INPLACE, LOCK=NONE;"),
            std::string::npos)
      << r.out;

  db_->Query("ALTER TABLE member ADD INDEX idx_last_login_time (last_login_time)");
  r = Warden({"members", "check", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["login_index"], "idx_last_login_time");
}

TEST_F(MembersTest, BadArgumentsAndMissingTablesAreOneLineErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string config;
    int code;
    std::string message;
  };
  MakeMembers(50);
  const std::vector<Case> cases = {
      {{"members", "migrate", "--inactive-for", "soon"}, "", 2, "--inactive-for: bad duration"},
      {{"members", "migrate", "--chunk", "0"}, "", 2, "--chunk"},
      {{"members", "migrate", "--parallel", "0"}, "", 2, "--parallel"},
      {{"members", "migrate", "--parallel", "17"}, "", 2, "--parallel"},
      {{"members", "migrate"}, "[members]\nparallel = 0\n", 2, "members: parallel"},
      {{"members", "migrate", "--throttle", "load=5"}, "", 2, "unknown throttle \"load\""},
      {{"members", "migrate"},
       "[members]\ntable = \"members\"\n",
       2,
       "table members does not exist in database warden_test"},
      {{"members", "migrate"},
       "[members]\nlast_login_column = \"last_seen\"\n",
       2,
       "table member has no column last_seen"},
      {{"members", "migrate"},
       "[members]\ntable = \"member; DROP TABLE x\"\n",
       2,
       "not a plain table or column name"},
      {{"members", "migrate"}, "[members]\nchunkk = 5\n", 2, "members: chunkk: unknown key"},
      {{"members", "check"},
       "[members]\narchive_table = \"member\"\n",
       2,
       "archive_table: must differ from table"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args.back() + " " + c.config);
    config_ = tmp_.Write("case.toml", c.config);
    RunResult r = Warden(c.args);
    EXPECT_EQ(r.exit_code, c.code) << Show(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("warden: ", 0), 0u) << r.err;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 50);

  // No database configured: usage; database unreachable: runtime.
  config_ = tmp_.Write("empty.toml", "");
  RunResult r = RunWarden({.args = {"members", "migrate"}, .config = config_});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("no MariaDB/MySQL database configured"), std::string::npos) << r.err;
  r = RunWarden({.args = {"members", "migrate"},
                 .mysql = "mysql://warden:warden@127.0.0.1:1/warden_test",
                 .config = config_});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A lock held by something warden cannot tell alive or dead (here: a connection of the test's)
// is waited for, up to --lock-wait, with a line saying so, then taken for a live migration.
TEST_F(MembersTest, OneMigrationAtATime) {
  MakeMembers(100);
  MysqlConnection other = Connect();
  ASSERT_EQ(other.Query("SELECT GET_LOCK('warden.members.warden_test.member', 0)")[0].Int64(0), 1);
  const auto start = std::chrono::steady_clock::now();
  RunResult r = Warden({"members", "migrate", "--lock-wait", "1s"});
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.err.find("another warden members migrate is running"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("still holds the lock warden.members.warden_test.member after "
                       "--lock-wait 1s"),
            std::string::npos)
      << r.err;
  const auto events = JsonLines(r.out);
  const nlohmann::json* wait = Find(events, "lock_wait");
  ASSERT_NE(wait, nullptr) << r.out;
  EXPECT_NE(wait->value("message", "").find("waiting up to 1s for the lock"), std::string::npos)
      << r.out << wait->dump();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 100);
  other.Query("SELECT RELEASE_LOCK('warden.members.warden_test.member')");
  EXPECT_EQ(Warden({"members", "migrate"}).exit_code, 0);
}

// A migration that runs (here: stopped at a failpoint after its first chunk) holds the lock:
// a second one fails at once, naming its process, without waiting.
TEST_F(MembersTest, ALiveMigrationOnThisHostIsNotWaitedFor) {
  MakeMembers(2000);
  const std::string go = tmp_.File("go");
  Process first =
      Process::Start(WardenOptions({"members", "migrate", "--chunk", "100", "--chunk-time", "0"},
                                   {{"WARDEN_FAILPOINT", "members.after_commit@1:wait=" + go}}));
  ASSERT_TRUE(PollUntil(
      [&] { return access((go + ".waiting").c_str(), F_OK) == 0 || !first.Running(); }, 30s));
  ASSERT_TRUE(first.Running()) << first.Stdout() << first.Stderr();
  const auto start = std::chrono::steady_clock::now();
  RunResult second = Warden({"members", "migrate"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "it waited for a live run";
  EXPECT_EQ(second.exit_code, 1) << Show(second);
  EXPECT_NE(second.err.find("another warden members migrate is running on member (connection "),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("of warden pid " + std::to_string(first.pid())), std::string::npos)
      << second.err;
  EXPECT_EQ(Find(JsonLines(second.out), "lock_wait"), nullptr) << second.out;
  WriteFile(go, "");
  ASSERT_EQ(first.Wait(60s), 0) << first.Stdout() << first.Stderr();
  ExpectAccounting(2000, true);
}

// kill -9 of a migration whose chunk waits for a row lock: the server goes on with the dead
// client's statement until the lock comes or its wait times out, then rolls it back, and only
// then closes the connection and frees the migration lock. A rerun started at once (no sleep)
// waits for that, says so, and moves everyone.
TEST_F(MembersTest, ARerunRightAfterKill9WaitsForTheDeadRunsLock) {
  constexpr int64_t kMembers = 4000;
  MakeMembers(kMembers);
  MysqlConnection app = Connect();
  app.Execute("START TRANSACTION");
  app.Query("SELECT id FROM member WHERE id = 5 FOR UPDATE");  // inactive, in the first chunk

  ProcessOptions options =
      WardenOptions({"members", "migrate", "--chunk", "100", "--chunk-time", "0"});
  Process killed = Process::Start(options);
  // Its first chunk's copy waits for member 5's row lock.
  ASSERT_TRUE(PollUntil(
      [&] {
        return Count(
                   "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                   "'INSERT INTO `unconnected_member`%'") > 0 ||
               !killed.Running();
      },
      30s));
  ASSERT_TRUE(killed.Running()) << killed.Stdout() << killed.Stderr();
  killed.Kill();

  ProcessOptions rerun_options = WardenOptions({"members", "migrate", "--json"});
  rerun_options.stdout_path = tmp_.File("rerun.jsonl");
  Process rerun = Process::Start(rerun_options);
  ASSERT_TRUE(PollUntil(
      [&] {
        return ReadFile(rerun_options.stdout_path).find("\"lock_wait\"") != std::string::npos ||
               !rerun.Running();
      },
      30s));
  ASSERT_TRUE(rerun.Running()) << rerun.Stdout() << rerun.Stderr();
  app.Execute("ROLLBACK");  // the dead statement ends; the server sees the connection closed
  ASSERT_EQ(rerun.Wait(60s), 0) << rerun.Stdout() << rerun.Stderr();

  const auto events = JsonLines(rerun.Stdout());
  const nlohmann::json* wait = Find(events, "lock_wait");
  ASSERT_NE(wait, nullptr) << rerun.Stdout();
  EXPECT_NE((*wait)["message"].get<std::string>().find("of warden pid " +
                                                       std::to_string(killed.pid()) + " on "),
            std::string::npos)
      << wait->dump();
  EXPECT_NE((*wait)["message"].get<std::string>().find("which no longer runs"), std::string::npos)
      << wait->dump();
  EXPECT_TRUE((*Find(events, "done"))["summary"]["complete"].get<bool>()) << rerun.Stdout();
  ExpectAccounting(kMembers, true);
}

// --max-impact: a login that waits for a chunk's row lock makes the run rest after that chunk,
// as long as the chunk took, and halve the next one.
TEST_F(MembersTest, MaxImpactRestsAfterAChunkALoginWaitedFor) {
  constexpr int64_t kMembers = 3000;
  MakeMembers(kMembers);
  const std::string go = tmp_.File("go");
  Process p = Process::Start(
      WardenOptions({"members", "migrate", "--max-impact", "--chunk", "100", "--chunk-time", "0"},
                    {{"WARDEN_FAILPOINT", "members.after_insert@2:wait=" + go}}));
  ASSERT_TRUE(
      PollUntil([&] { return access((go + ".waiting").c_str(), F_OK) == 0 || !p.Running(); }, 30s));
  ASSERT_TRUE(p.Running()) << p.Stdout() << p.Stderr();
  // The second chunk holds the next inactive members after the cursor: one of them logs in.
  int64_t locked = Count("SELECT last_id FROM warden_members_migration") + 1;
  while (!Inactive(locked)) ++locked;
  std::thread login([&] {
    MysqlConnection app = Connect();
    app.Prepare("UPDATE member SET last_login_time = ? WHERE id = ?").Execute({now_, locked});
  });
  ASSERT_TRUE(PollUntil(
      [&] {
        return Count(
                   "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                   "'UPDATE member SET last_login_time%'") > 0;
      },
      10s));
  std::this_thread::sleep_for(200ms);
  WriteFile(go, "");
  login.join();
  ASSERT_EQ(p.Wait(60s), 0) << p.Stdout() << p.Stderr();

  const auto events = JsonLines(p.Stdout());
  const nlohmann::json* rest = Find(events, "rest");
  ASSERT_NE(rest, nullptr) << p.Stdout();
  EXPECT_NE((*rest)["reason"].get<std::string>().find("row lock wait(s)"), std::string::npos)
      << rest->dump();
  EXPECT_GE((*rest)["rest_ms"].get<int64_t>(), 150) << "as long as the chunk took";
  EXPECT_EQ((*rest)["next_chunk"], 50) << "the next chunk halved";
  const nlohmann::json& summary = (*Find(events, "done"))["summary"];
  EXPECT_GE(summary["max_impact"]["pressured_chunks"].get<int64_t>(), 1) << summary.dump();
  EXPECT_GT(summary["max_impact"]["rested_ms"].get<int64_t>(), 0) << summary.dump();
  EXPECT_TRUE(summary["complete"].get<bool>());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member WHERE id = " + std::to_string(locked)), 0)
      << "the login came after the chunk took the member";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member") + Count("SELECT COUNT(*) FROM unconnected_member"),
            kMembers);
}

// The archive's email is not unique: a member archived, a new member signing up with the same
// email, that one going inactive too: both are archived. Restoring one while the other is
// active is refused with a message naming the other, or done with --rename.
TEST_F(MembersTest, AnEmailArchivedTwiceIsMovedAndRestoredByChoice) {
  MakeMembers(500);
  ASSERT_EQ(Warden({"members", "migrate"}).exit_code, 0);
  EXPECT_EQ(Count("SELECT NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                  "DATABASE() AND TABLE_NAME = 'unconnected_member' AND INDEX_NAME = 'email'"),
            1)
      << "the archive keeps member's email index, not its uniqueness";
  const int64_t old_login = now_ - 500 * kDay;
  db_->Query("INSERT INTO member VALUES (10001, 'm10@example.com', 'Second', " +
             std::to_string(old_login) + ", NOW())");

  RunResult r = Warden({"members", "migrate"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member WHERE email = 'm10@example.com'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member WHERE email = 'm10@example.com'"), 0);

  r = Warden({"members", "restore", "--email", "m10@example.com"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.err.find("more than one archived member has email m10@example.com: restore by id"),
            std::string::npos)
      << r.err;

  ASSERT_EQ(Warden({"members", "restore", "10"}).exit_code, 0);
  r = Warden({"members", "restore", "10001"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(r.err,
            "warden: member 10001 cannot be restored: its email m10@example.com belongs to "
            "member 10 now (unique key email of member); restore it under another email with "
            "--rename EMAIL, or leave it archived\n");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member WHERE id = 10001"), 1);

  r = Warden({"members", "restore", "10001", "--rename", "m13@example.com"});  // active
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(r.err,
            "warden: member 10001 cannot be restored: the email m13@example.com given to "
            "--rename belongs to member 13\n");

  r = Warden({"members", "restore", "10001", "--rename", "second@example.com", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(nlohmann::json::parse(r.out)["email"], "second@example.com");
  EXPECT_EQ(*db_->Query("SELECT email FROM member WHERE id = 10001")[0][0], "second@example.com");
  EXPECT_EQ(*db_->Query("SELECT name FROM member WHERE id = 10001")[0][0], "Second");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member WHERE id = 10001"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member WHERE email = 'm10@example.com'"), 1);

  r = Warden({"members", "restore", "12", "--rename", "nope"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// An archive made by an older warden (CREATE TABLE ... LIKE member kept the unique email):
// migrate refuses before it moves anyone, says why and how to fix it; --fix-archive-keys does.
TEST_F(MembersTest, AnOlderArchiveWithAUniqueEmailIsFixedOnlyOnRequest) {
  MakeMembers(500);
  db_->Query("CREATE TABLE unconnected_member LIKE member");
  db_->Query(
      "ALTER TABLE unconnected_member ADD COLUMN moved_at DATETIME NOT NULL, "
      "ADD INDEX idx_moved_at (moved_at)");
  RunResult r = Warden({"members", "migrate"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("table unconnected_member has the unique key(s) email (email)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--fix-archive-keys"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ALTER TABLE `unconnected_member` DROP INDEX `email`, ADD INDEX `email` "
                       "(`email`), ALGORITHM=INPLACE, LOCK=NONE;"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 500) << "nobody moved";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM unconnected_member"), 0);
  r = Warden({"members", "migrate", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("warning:   the archive has unique keys besides its primary key"),
            std::string::npos)
      << r.out;

  r = Warden({"members", "migrate", "--fix-archive-keys"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("making the unique keys of unconnected_member plain indexes"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Count("SELECT NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                  "DATABASE() AND TABLE_NAME = 'unconnected_member' AND INDEX_NAME = 'email'"),
            1);
  ExpectAccounting(500, true);
}

// members check on a schema with every risk it knows: the archive's unique key, a foreign key
// to member, triggers on member and on another table that refers to it; the binary log, the
// estimate. migrate refuses the foreign key before it deletes anything.
TEST_F(MembersTest, CheckReportsEveryRisk) {
  MakeMembers(3000);
  db_->Query("CREATE TABLE unconnected_member LIKE member");
  db_->Query("ALTER TABLE unconnected_member ADD COLUMN moved_at DATETIME NOT NULL");
  db_->Query(
      "CREATE TABLE orders (id INT PRIMARY KEY, member_id BIGINT NOT NULL, CONSTRAINT "
      "orders_member FOREIGN KEY (member_id) REFERENCES member (id) ON DELETE CASCADE) "
      "ENGINE=InnoDB");
  db_->Query("INSERT INTO orders VALUES (1, 10), (2, 11)");
  db_->Query("CREATE TABLE audit (member_id BIGINT) ENGINE=InnoDB");
  db_->Query(
      "CREATE TRIGGER member_gone AFTER DELETE ON member FOR EACH ROW "
      "INSERT INTO audit VALUES (OLD.id)");
  db_->Query(
      "CREATE TRIGGER order_touch AFTER INSERT ON orders FOR EACH ROW "
      "UPDATE member SET name = name WHERE id = NEW.member_id");

  RunResult r = Warden({"members", "check", "--json"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  std::map<std::string, std::vector<std::string>> by_topic;
  for (const auto& f : j["findings"]) {
    by_topic[f["kind"].get<std::string>() + " " + f["topic"].get<std::string>()].push_back(
        f["message"]);
  }
  ASSERT_EQ(by_topic["problem archive_keys"].size(), 1u) << r.out;
  EXPECT_NE(by_topic["problem archive_keys"][0].find("--fix-archive-keys"), std::string::npos);
  ASSERT_EQ(by_topic["problem foreign_key"].size(), 1u) << r.out;
  EXPECT_NE(by_topic["problem foreign_key"][0].find(
                "foreign key orders_member of orders references member (ON DELETE CASCADE): "
                "deleting a member deletes its rows in orders"),
            std::string::npos)
      << r.out;
  ASSERT_EQ(by_topic["risk trigger"].size(), 2u) << r.out;
  EXPECT_NE(by_topic["risk trigger"][0].find("trigger member_gone (AFTER DELETE ON member) runs "
                                             "for every member moved"),
            std::string::npos)
      << r.out;
  EXPECT_NE(by_topic["risk trigger"][1].find("trigger order_touch (AFTER INSERT ON orders) "
                                             "refers to member"),
            std::string::npos)
      << r.out;
  ASSERT_EQ(by_topic["info binlog"].size(), 1u) << r.out;
  EXPECT_NE(by_topic["info binlog"][0].find("binary log off"), std::string::npos);
  ASSERT_EQ(by_topic["info estimate"].size(), 1u) << r.out;
  EXPECT_NE(by_topic["info estimate"][0].find("to move 1,800 members inactive for 365d"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(j["estimate"]["inactive"], 1800);
  EXPECT_GT(j["estimate"]["ms_per_row"].get<double>(), 0);
  EXPECT_GT(j["estimate"]["sample_rows"].get<int64_t>(), 0);
  EXPECT_EQ(j["problems"].size(), 2u) << r.out;
  EXPECT_EQ(j["risks"].size(), 2u) << r.out;

  // The text form: one line per finding, problems first.
  r = Warden({"members", "check"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(r.out.find("problem: "), r.out.find('\n', r.out.find('\n') + 1) + 1) << r.out;
  EXPECT_NE(r.out.find("\nrisk: trigger member_gone"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ninfo: about "), std::string::npos) << r.out;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 3000) << "check changes nothing";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit"), 0) << "check changes nothing";

  // migrate refuses the foreign key before it deletes anything (the keys fixed or not).
  r = Warden({"members", "migrate", "--fix-archive-keys"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("foreign key orders_member of orders references member"), std::string::npos)
      << r.err;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 3000);

  // With the risks gone: ok.
  db_->Query("DROP TABLE orders");
  db_->Query("DROP TRIGGER member_gone");
  db_->Query("ALTER TABLE unconnected_member DROP INDEX email, ADD INDEX email (email)");
  r = Warden({"members", "check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("ok: ready to migrate\n"), std::string::npos) << r.out;
}

// The throttle with a real replica: a second mariadbd replicating from the first. While the
// replica's SQL thread is stopped (Seconds_Behind_Master NULL) the migration waits before its
// first chunk; once the thread runs again it moves everyone, and the replica ends up with the
// same two tables as the primary.
// A server with a small redo log, as many are: a run that writes faster than InnoDB flushes
// would fill it, and past about seven eighths every writer of the server waits for the flush.
class MembersSmallRedoLogTest : public MembersTest {
 protected:
  static void SetUpTestSuite() {
    db_ = std::make_unique<MariaDbServer>(MariaDbServer::Options{{"--innodb-log-file-size=16M"}});
  }
  static void TearDownTestSuite() { db_.reset(); }
};

// Past the limit the run waits for InnoDB to flush; on a server where nothing else writes
// InnoDB may not flush at all (it waited forever before), so a wait that sees the log not
// empty stops, and the run ends.
TEST_F(MembersSmallRedoLogTest, PausesWhileTheRedoLogIsFullerThanTheThrottleAllows) {
  MakeMembers(40000);
  RunResult r = Warden({"members", "migrate", "--throttle", "checkpoint_age=20%"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  auto events = JsonLines(r.out);
  const nlohmann::json* pause = Find(events, "pause");
  ASSERT_NE(pause, nullptr) << r.out;
  EXPECT_EQ((*pause)["reason"].get<std::string>().rfind("InnoDB checkpoint age ", 0), 0u)
      << (*pause)["reason"];
  EXPECT_NE((*pause)["reason"].get<std::string>().find("> 20% of "), std::string::npos)
      << (*pause)["reason"];
  EXPECT_NE(Find(events, "resume"), nullptr);
  EXPECT_GT((*Find(events, "done"))["summary"]["paused_ms"].get<int>(), 0);
  ExpectAccounting(40000, true);

  // Off: no pause.
  db_->Query("DROP TABLE member, unconnected_member");
  MakeMembers(40000);
  r = Warden({"members", "migrate", "--fresh", "--throttle", "checkpoint_age=0"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Find(JsonLines(r.out), "pause"), nullptr) << r.out;
  ExpectAccounting(40000, true);
}

TEST_F(MembersSmallRedoLogTest, CheckReportsARedoLogTooSmallForTheMove) {
  MakeMembers(40000);
  db_->Query("ANALYZE TABLE member");  // the statistics a table in use has
  RunResult r = Warden({"members", "check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("risk: the move copies and deletes about "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the run will wait for InnoDB to flush (throttle checkpoint_age=75%)"),
            std::string::npos)
      << r.out;
  db_->Query("DROP TABLE member");
}

class MembersReplicaTest : public MembersTest {
 protected:
  static void SetUpTestSuite() {
    db_ = std::make_unique<MariaDbServer>(MariaDbServer::Options{
        {"--log-bin=primary-bin", "--server-id=1", "--binlog-format=MIXED"}});
    replica_ = std::make_unique<MariaDbServer>(MariaDbServer::Options{{"--server-id=2"}});
    db_->Query("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'");
    db_->Query("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
    // Replicate from here on: the primary's own setup (its database and users) is already on
    // the replica, made by its constructor.
    const MariaDbRows position = db_->Query("SHOW MASTER STATUS");
    replica_->Query(
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = " + std::to_string(db_->port()) +
        ", MASTER_USER = 'repl', MASTER_PASSWORD = 'repl', MASTER_LOG_FILE = '" + *position[0][0] +
        "', MASTER_LOG_POS = " + *position[0][1] + ", MASTER_USE_GTID = no");
    replica_->Query("START SLAVE");
    // What warden needs on a replica: SHOW ALL SLAVES STATUS.
    replica_->Query("CREATE USER 'monitor'@'127.0.0.1' IDENTIFIED BY 'monitor'");
    replica_->Query("GRANT SLAVE MONITOR ON *.* TO 'monitor'@'127.0.0.1'");
    // What `members check` needs on the primary to list its replicas: SHOW SLAVE HOSTS.
    db_->Query("GRANT REPLICATION MASTER ADMIN ON *.* TO 'warden'@'127.0.0.1'");
  }
  static void TearDownTestSuite() {
    replica_.reset();
    db_.reset();
  }

  std::string ReplicaUrl() const {
    return "mysql://monitor:monitor@127.0.0.1:" + std::to_string(replica_->port()) +
           "/information_schema";
  }
  int64_t ReplicaCount(const std::string& sql) { return std::stoll(*replica_->Query(sql)[0][0]); }
  // Until the replica has applied everything the primary wrote so far.
  bool CaughtUp() {
    const std::string gtid = *db_->Query("SELECT @@gtid_binlog_pos")[0][0];
    return *replica_->Query("SELECT @@gtid_slave_pos")[0][0] == gtid;
  }

  static inline std::unique_ptr<MariaDbServer> replica_;
};

TEST_F(MembersReplicaTest, PausesWhileAReplicaIsNotReplicatingAndResumesAfter) {
  constexpr int64_t kMembers = 2000;
  MakeMembers(kMembers);
  ASSERT_TRUE(PollUntil([&] { return CaughtUp(); }, 30s)) << "the replica never caught up";
  ASSERT_EQ(ReplicaCount("SELECT COUNT(*) FROM member"), kMembers);
  replica_->Query("STOP SLAVE SQL_THREAD");

  ProcessOptions options =
      WardenOptions({"members", "migrate", "--chunk", "200", "--replica", ReplicaUrl(),
                     "--max-replica-lag", "2s", "--throttle", "check=50ms"});
  options.stdout_path = tmp_.File("replica.jsonl");
  Process p = Process::Start(options);
  auto paused = [&] {
    for (const auto& e : JsonLines(ReadFile(options.stdout_path))) {
      if (e.value("event", "") == "pause") return true;
    }
    return false;
  };
  ASSERT_TRUE(PollUntil([&] { return paused() || !p.Running(); }, 30s));
  ASSERT_TRUE(p.Running()) << p.Stdout() << p.Stderr();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), kMembers) << "nothing moves while it lags";

  replica_->Query("START SLAVE SQL_THREAD");
  ASSERT_EQ(p.Wait(60s), 0) << p.Stdout() << p.Stderr();
  auto events = JsonLines(p.Stdout());
  const nlohmann::json* pause = Find(events, "pause");
  ASSERT_NE(pause, nullptr) << p.Stdout();
  EXPECT_NE((*pause)["reason"].get<std::string>().find("is not replicating"), std::string::npos)
      << pause->dump();
  bool resumed = false;
  for (const auto& e : events) {
    const std::string kind = e.value("event", "");
    if (kind == "resume") resumed = true;
    if (kind == "chunk") {
      EXPECT_TRUE(resumed) << "a chunk ran while paused: " << e.dump();
    }
  }
  EXPECT_TRUE(resumed) << p.Stdout();
  EXPECT_TRUE((*Find(events, "done"))["summary"]["complete"].get<bool>());
  ExpectAccounting(kMembers, true);

  // The chunks replicate as they ran: the replica holds the same rows in the same tables.
  ASSERT_TRUE(PollUntil([&] { return CaughtUp(); }, 30s)) << "the replica never caught up";
  EXPECT_EQ(ReplicaCount("SELECT COUNT(*) FROM member"), kMembers * 2 / 5);
  EXPECT_EQ(ReplicaCount("SELECT COUNT(*) FROM unconnected_member"), kMembers * 3 / 5);
  EXPECT_EQ(ReplicaCount("SELECT COUNT(*) FROM unconnected_member WHERE id % 5 >= 3"), 0);
}

// members check on a primary with a replica: a replica that nobody watches, one that does
// not replicate, binlog_format=STATEMENT (which the chunks cannot be logged in).
TEST_F(MembersReplicaTest, CheckReportsTheBinaryLogAndTheReplicas) {
  MakeMembers(500);
  RunResult r = Warden({"members", "check"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("info: binary log on, binlog_format=MIXED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("risk: 1 replica(s) replicate from this server"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ok: ready to migrate, with the risks above"), std::string::npos) << r.out;

  replica_->Query("STOP SLAVE SQL_THREAD");
  config_ = tmp_.Write("replica.toml", "[members]\nthrottle = \"replica_lag=5s\"\n");
  r = Warden({"members", "check", "--replica", ReplicaUrl()});
  replica_->Query("START SLAVE SQL_THREAD");
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("risk: replica 127.0.0.1:" + std::to_string(replica_->port()) +
                       " is not replicating"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("none is watched"), std::string::npos) << r.out;

  db_->Query("SET GLOBAL binlog_format = 'STATEMENT'");
  r = Warden({"members", "check"});
  db_->Query("SET GLOBAL binlog_format = 'MIXED'");
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.out.find("problem: binlog_format=STATEMENT"), std::string::npos) << r.out;
}

// A replica that cannot be checked counts as lagging: the migration waits (and says why) until
// it is stopped, having moved nobody.
TEST_F(MembersReplicaTest, AnUnreachableReplicaCountsAsLagging) {
  MakeMembers(500);
  ProcessOptions options =
      WardenOptions({"members", "migrate", "--replica",
                     "mysql://monitor:wrong@127.0.0.1:" + std::to_string(replica_->port()) + "/x",
                     "--max-replica-lag", "5s", "--throttle", "check=50ms"});
  options.stdout_path = tmp_.File("unreachable.jsonl");
  Process p = Process::Start(options);
  ASSERT_TRUE(PollUntil(
      [&] {
        return ReadFile(options.stdout_path).find("\"pause\"") != std::string::npos || !p.Running();
      },
      30s));
  ASSERT_TRUE(p.Running()) << p.Stdout() << p.Stderr();
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(30s), 1) << p.Stdout() << p.Stderr();
  const auto events = JsonLines(p.Stdout());
  const nlohmann::json* pause = Find(events, "pause");
  ASSERT_NE(pause, nullptr) << p.Stdout();
  EXPECT_NE((*pause)["reason"].get<std::string>().find("cannot be checked"), std::string::npos)
      << pause->dump();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 500);
}

TEST_F(MembersTest, ReplicaLagNeedsBothTheReplicasAndTheLimit) {
  MakeMembers(10);
  RunResult r = Warden({"members", "migrate", "--max-replica-lag", "5s"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("needs replicas"), std::string::npos) << r.err;
  r = Warden({"members", "migrate", "--replica", "mysql://m@127.0.0.1:1/x"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("needs a lag limit"), std::string::npos) << r.err;
  r = Warden({"members", "migrate", "--replica", "http://x", "--max-replica-lag", "5s"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM member"), 10);
}

}  // namespace
}  // namespace warden::test
