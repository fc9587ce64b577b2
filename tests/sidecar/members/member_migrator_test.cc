// MemberMigrator itself, on a real MariaDB, with an injected clock: which members the cutoff
// takes, that a run keeps its cutoff when resumed later, and the events it reports. The
// binary's behaviour (kill -9, logins during a run, --parallel) is in members_integration_test.
#include "members/member_migrator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_url.h"
#include "support/mariadb_server.h"
#include "support/server_suite.h"

namespace warden {
namespace {

using test::MariaDbServer;

constexpr int64_t kDayMs = int64_t{86400} * 1000;
constexpr int64_t kNowMs = int64_t{1'800'000'000} * 1000;  // the injected clock starts here

class MemberMigratorTest : public test::MariaDbSuite {
 protected:
  void SetUp() override {
    MariaDbSuite::SetUp();
    db_->Query(
        "CREATE TABLE member (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "email VARCHAR(191) NOT NULL, last_login_time INT UNSIGNED NOT NULL, "
        "UNIQUE KEY email (email), KEY idx_last_login_time (last_login_time)) ENGINE=InnoDB");
    std::string error;
    conn_ = std::make_unique<MysqlConnection>(
        MysqlConnection::Connect(*MysqlUrl::Parse(db_->url(), &error)));
  }

  void AddMember(int64_t id, int64_t last_login_s) {
    db_->Query("INSERT INTO member VALUES (" + std::to_string(id) + ", 'm" + std::to_string(id) +
               "@example.com', " + std::to_string(last_login_s) + ")");
  }
  std::set<int64_t> Ids(const std::string& table) {
    std::set<int64_t> ids;
    for (const auto& row : db_->Query("SELECT id FROM " + table)) ids.insert(std::stoll(*row[0]));
    return ids;
  }

  MemberMigrator Migrator() {
    MembersSettings settings;
    settings.throttle = ThrottleSettings{};
    return MemberMigrator(
        *conn_, settings, [this](const nlohmann::json& e) { events_.push_back(e); }, nullptr,
        [this] { return now_ms_; });
  }
  MigrateOptions Options() {
    MigrateOptions options;
    options.inactive_for_ms = 365 * kDayMs;
    options.chunk = 2;
    options.chunk_time_ms = 0;  // fixed chunks: the test counts them
    return options;
  }
  std::vector<std::string> EventNames() {
    std::vector<std::string> names;
    for (const auto& e : events_) names.push_back(e.value("event", ""));
    return names;
  }
  std::unique_ptr<MysqlConnection> conn_;
  int64_t now_ms_ = kNowMs;
  std::vector<nlohmann::json> events_;
};

TEST_F(MemberMigratorTest, TheCutoffComesFromTheInjectedClock) {
  const int64_t cutoff = (kNowMs - 365 * kDayMs) / 1000;
  AddMember(1, 0);
  AddMember(2, cutoff - 1);  // inactive by one second: moves
  AddMember(3, cutoff);      // exactly at the cutoff: stays (last_login_time < cutoff moves)
  AddMember(4, cutoff + 1);
  AddMember(5, kNowMs / 1000);
  AddMember(6, cutoff - 86400);

  MigrateSummary summary = Migrator().Migrate(Options());
  EXPECT_EQ(summary.cutoff, cutoff);
  EXPECT_EQ(summary.rows_moved, 3);
  EXPECT_TRUE(summary.complete);
  EXPECT_FALSE(summary.resumed);
  EXPECT_EQ(Ids("member"), (std::set<int64_t>{3, 4, 5}));
  EXPECT_EQ(Ids("unconnected_member"), (std::set<int64_t>{1, 2, 6}));

  std::vector<std::string> names = EventNames();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "done");
  EXPECT_NE(std::find(names.begin(), names.end(), "start"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "chunk"), names.end());
  EXPECT_EQ(events_.back()["summary"]["rows_moved"], 3);
}

TEST_F(MemberMigratorTest, AResumedRunKeepsItsCutoffWhenTheClockMovesOn) {
  const int64_t cutoff = (kNowMs - 365 * kDayMs) / 1000;
  for (int64_t id = 1; id <= 4; ++id) AddMember(id, cutoff - id);  // inactive now
  AddMember(10, cutoff + 50 * 86400);                              // inactive only 100 days later

  MigrateOptions options = Options();
  options.max_rows = 2;
  MigrateSummary first = Migrator().Migrate(options);
  EXPECT_EQ(first.rows_moved, 2);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.stopped, "max-rows");

  now_ms_ += 100 * kDayMs;
  MigrateSummary second = Migrator().Migrate(Options());
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.run_id, first.run_id);
  EXPECT_EQ(second.cutoff, cutoff);  // the run's, not the clock's
  EXPECT_EQ(second.rows_moved, 2);
  EXPECT_EQ(second.run_rows_moved, 4);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(Ids("member"), (std::set<int64_t>{10}));

  // A new run, under the later clock, takes member 10 too.
  MigrateSummary third = Migrator().Migrate(Options());
  EXPECT_NE(third.run_id, first.run_id);
  EXPECT_EQ(third.cutoff, (now_ms_ - 365 * kDayMs) / 1000);
  EXPECT_EQ(third.rows_moved, 1);
  EXPECT_TRUE(Ids("member").empty());
}

TEST_F(MemberMigratorTest, NothingToMoveIsACompleteRun) {
  AddMember(1, kNowMs / 1000);
  MigrateSummary summary = Migrator().Migrate(Options());
  EXPECT_EQ(summary.rows_moved, 0);
  EXPECT_TRUE(summary.complete);
  EXPECT_EQ(Ids("member"), (std::set<int64_t>{1}));
}

}  // namespace
}  // namespace warden
