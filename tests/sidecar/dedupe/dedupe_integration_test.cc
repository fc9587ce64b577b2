// `warden dedupe` against a real MariaDB: one row per key stays (the right one), NULL keys are
// never duplicates, a dry run deletes nothing, mistakes are one-line errors.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/mariadb_server.h"
#include "support/process.h"
#include "support/server_suite.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

nlohmann::json Done(const std::string& out) {
  for (const nlohmann::json& event : JsonLines(out)) {
    if (event.value("event", "") == "done") return event["summary"];
  }
  return nullptr;
}

class DedupeTest : public test::MariaDbSuite {
 protected:
  void SetUp() override { MariaDbSuite::SetUp(); }

  // `n` contacts over n / 3 distinct emails (so about two thirds are duplicates), every 50th
  // without an email; a copy of the table to compare with.
  void MakeContacts(int n, bool with_index = true) {
    db_->Query(
        "CREATE TABLE contacts (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "email VARCHAR(100) NULL, phone VARCHAR(20) NOT NULL, name VARCHAR(50)" +
        std::string(with_index ? ", KEY email (email), KEY email_phone (email, phone)" : "") +
        ") ENGINE=InnoDB");
    db_->Query(
        "INSERT INTO contacts SELECT seq, IF(seq % 50 = 0, NULL, CONCAT('c', "
        "(seq * 7) % " +
        std::to_string(n / 3) +
        ", '@example.com')), "
        "CONCAT('010-', seq % 2), CONCAT('Contact ', seq) FROM seq_1_to_" +
        std::to_string(n));
    db_->Query("CREATE TABLE original SELECT * FROM contacts");
  }

  RunResult Warden(const std::vector<std::string>& args) {
    return RunWarden({.args = args, .mysql = db_->url()}, std::nullopt, 60s);
  }
  int64_t Count(const std::string& sql) { return std::stoll(*db_->Query(sql)[0][0]); }
};

TEST_F(DedupeTest, KeepsTheLowestIdOfEachKey) {
  constexpr int kRows = 30000;
  MakeContacts(kRows);
  const int64_t keys = Count("SELECT COUNT(DISTINCT email) FROM original");
  const int64_t nulls = Count("SELECT COUNT(*) FROM original WHERE email IS NULL");

  RunResult dry =
      Warden({"dedupe", "--table", "contacts", "--key", "email", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << Show(dry);
  nlohmann::json plan = nlohmann::json::parse(dry.out);
  EXPECT_EQ(plan["rows"], kRows);
  EXPECT_EQ(plan["duplicates"], kRows - nulls - keys);
  EXPECT_EQ(plan["keys_with_duplicates"], keys);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), kRows) << "a dry run deletes nothing";

  RunResult r = Warden({"dedupe", "--table", "contacts", "--key", "email", "--chunk", "500"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json summary = Done(r.out);
  EXPECT_EQ(summary["deleted"], kRows - nulls - keys);
  EXPECT_EQ(summary["scanned"], kRows);
  EXPECT_TRUE(summary["complete"].get<bool>());
  EXPECT_GT(summary["chunks"].get<int>(), 1);

  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), keys + nulls);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT email FROM contacts WHERE email IS NOT NULL "
                  "GROUP BY email HAVING COUNT(*) > 1) d"),
            0);
  // Exactly the lowest id of each email stayed, and every contact without an email.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts c JOIN (SELECT MIN(id) AS id FROM original "
                  "WHERE email IS NOT NULL GROUP BY email) k ON k.id = c.id"),
            keys);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE email IS NULL"), nulls);

  // Nothing left to delete.
  r = Warden({"dedupe", "--table", "contacts", "--key", "email"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Done(r.out)["deleted"], 0);
}

TEST_F(DedupeTest, KeepsTheHighestIdAndHandlesCompositeKeys) {
  MakeContacts(3000);
  RunResult r = Warden({"dedupe", "--table", "contacts", "--key", "email,phone", "--keep",
                        "highest-id", "--chunk", "100", "--chunk-time", "0"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const int64_t groups = Count(
      "SELECT COUNT(*) FROM (SELECT 1 FROM original WHERE email IS NOT "
      "NULL GROUP BY email, phone) g");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts WHERE email IS NOT NULL"), groups);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts c JOIN (SELECT MAX(id) AS id FROM original "
                  "WHERE email IS NOT NULL GROUP BY email, phone) k ON k.id = c.id"),
            groups);
  EXPECT_EQ(Done(r.out)["chunks"], 30);
}

TEST_F(DedupeTest, MistakesAreOneLineErrors) {
  MakeContacts(300, /*with_index=*/false);
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"dedupe", "--table", "contacts", "--key", "email"},
       2,
       "no index on contacts (email): finding each row's twin would read the whole table; add "
       "one with: ALTER TABLE `contacts` ADD INDEX `idx_email` (`email`), ALGORITHM=INPLACE, "
       "LOCK=NONE;"},
      {{"dedupe", "--table", "nope", "--key", "email"},
       2,
       "table nope does not exist in database warden_test"},
      {{"dedupe", "--table", "contacts", "--key", "mail"}, 2, "table contacts has no column mail"},
      {{"dedupe", "--table", "contacts", "--key", "email;"}, 2, "--key: \"email;\" is not a plain"},
      {{"dedupe", "--table", "contacts"}, 2, "--key is required"},
      {{"dedupe", "--table", "contacts", "--key", "email", "--keep", "oldest"}, 2, "--keep"},
      {{"dedupe", "--table", "contacts", "--key", "email", "--id-column", "name"},
       2,
       "dedupe walks an integer primary key: name of contacts is not one"},
  };
  for (const Case& c : cases) {
    RunResult r = Warden(c.args);
    EXPECT_EQ(r.exit_code, c.code) << Show(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contacts"), 300);
}

}  // namespace
}  // namespace warden::test
