#include "storage/mysql/mysql_connection.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>

#include "base/errors.h"
#include "storage/mysql/mysql_transaction.h"
#include "support/free_port.h"
#include "support/mariadb_server.h"
#include "support/server_suite.h"

namespace warden {
namespace {

using test::MariaDbServer;
using namespace std::chrono_literals;

MysqlUrl Url(const std::string& text) {
  std::string error;
  auto url = MysqlUrl::Parse(text, &error);
  if (!url) throw std::runtime_error(error);
  return *url;
}

class MysqlConnectionTest : public test::MariaDbSuite {
 protected:
  void SetUp() override { MariaDbSuite::SetUp(); }

  static MysqlConnection Connect() { return MysqlConnection::Connect(Url(db_->url())); }

  // The one value of `sql` as root, read through the fixture, not the code under test.
  static std::optional<std::string> Scalar(const std::string& sql) {
    auto rows = db_->Query(sql);
    if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error("not a scalar: " + sql);
    return rows[0][0];
  }
};

TEST_F(MysqlConnectionTest, ConnectsOverTcpAndSocket) {
  MysqlConnection tcp = Connect();
  MysqlRows rows = tcp.Query(
      "SELECT CURRENT_USER() AS who, DATABASE() AS db, @@character_set_client AS charset, "
      "@@autocommit AS autocommit");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].String(rows.ColumnIndex("who")), "warden@127.0.0.1");
  EXPECT_EQ(rows[0].String(rows.ColumnIndex("db")), "warden_test");
  EXPECT_EQ(rows[0].String(rows.ColumnIndex("charset")), "utf8mb4");
  EXPECT_EQ(rows[0].Int64(rows.ColumnIndex("autocommit")), 1);
  EXPECT_NE(tcp.ServerVersion().find("MariaDB"), std::string::npos) << tcp.ServerVersion();
  EXPECT_EQ(tcp.endpoint(), "127.0.0.1:" + std::to_string(db_->port()));
  EXPECT_TRUE(tcp.Ping());

  MysqlConnection unix_socket = MysqlConnection::Connect(Url(db_->socket_url()));
  EXPECT_EQ(unix_socket.Query("SELECT CURRENT_USER()")[0].String(0), "warden@localhost");
  EXPECT_EQ(unix_socket.endpoint(), db_->socket_path());
}

TEST_F(MysqlConnectionTest, PreparedInsertAndSelectWithNulls) {
  MysqlConnection conn = Connect();
  conn.Execute(
      "CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NULL, "
      "score BIGINT NULL, ratio DOUBLE NULL)");
  MysqlStatement insert = conn.Prepare("INSERT INTO t (name, score, ratio) VALUES (?, ?, ?)");
  EXPECT_EQ(insert.param_count(), 3u);
  MysqlExecResult first = insert.Execute({"alice", 10, 0.5});
  EXPECT_EQ(first.affected_rows, 1u);
  EXPECT_EQ(first.last_insert_id, 1u);
  std::optional<int64_t> no_score;
  MysqlExecResult second = insert.Bind(std::nullopt).Bind(no_score).Bind(std::nullopt).Execute();
  EXPECT_EQ(second.last_insert_id, 2u);

  MysqlRows rows =
      conn.Prepare("SELECT id, name, score, ratio FROM t WHERE id >= ? ORDER BY id").Query({1});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.columns(), (std::vector<std::string>{"id", "name", "score", "ratio"}));
  EXPECT_EQ(rows[0].Int64(0), 1);
  EXPECT_EQ(rows[0].String(1), "alice");
  EXPECT_EQ(rows[0].OptionalInt64(2), 10);
  EXPECT_DOUBLE_EQ(rows[0].Double(3), 0.5);
  EXPECT_EQ(rows[1].Int64(0), 2);
  EXPECT_TRUE(rows[1].IsNull(1));
  EXPECT_EQ(rows[1].OptionalString(1), std::nullopt);
  EXPECT_EQ(rows[1].OptionalInt64(2), std::nullopt);
  EXPECT_TRUE(rows[1].IsNull(3));
  EXPECT_THROW(rows[1].Int64(2), MysqlError);   // NULL where a number is required
  EXPECT_THROW(rows[1].String(1), MysqlError);  // NULL where a string is required
  EXPECT_THROW(rows[0].Int64(1), MysqlError);   // "alice" is not a number
  EXPECT_THROW(rows.ColumnIndex("nope"), MysqlError);

  // NULL compares as unknown: a bound NULL matches nothing, IS NULL matches.
  EXPECT_TRUE(conn.Prepare("SELECT id FROM t WHERE name = ?").Query({std::nullopt}).empty());
  EXPECT_EQ(conn.Prepare("SELECT id FROM t WHERE name <=> ?").Query({std::nullopt}).size(), 1u);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM t WHERE name IS NULL AND score IS NULL"), "1");

  // Iteration.
  int64_t sum = 0;
  for (MysqlRow row : rows) sum += row.Int64(0);
  EXPECT_EQ(sum, 3);
}

TEST_F(MysqlConnectionTest, StringsWithQuotesUnicodeAndBytesRoundTrip) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE s (id INT PRIMARY KEY, txt MEDIUMTEXT, bin VARBINARY(64))");
  const std::string nasty = "O'Brien \"quoted\" back\\slash; DROP TABLE s; -- %_ `tick`";
  const std::string unicode = "한국어 テスト 😀 é";
  const std::string bytes("a\0b\xff\x01", 5);
  const std::string longer(100000, 'x');  // longer than the first fetch buffer

  MysqlStatement insert = conn.Prepare("INSERT INTO s (id, txt, bin) VALUES (?, ?, ?)");
  insert.Execute({1, nasty, bytes});
  insert.Execute({2, unicode, std::string_view("")});
  insert.Execute({3, longer, std::nullopt});

  MysqlStatement select = conn.Prepare("SELECT txt, bin, CHAR_LENGTH(txt) FROM s WHERE id = ?");
  MysqlRows rows = select.Query({1});
  EXPECT_EQ(rows[0].String(0), nasty);
  EXPECT_EQ(rows[0].String(1), bytes);
  rows = select.Query({2});
  EXPECT_EQ(rows[0].String(0), unicode);
  EXPECT_EQ(rows[0].Int64(2), 11);  // characters, not bytes: stored as utf8mb4
  EXPECT_EQ(rows[0].String(1), "");
  EXPECT_FALSE(rows[0].IsNull(1));  // an empty string is not NULL
  rows = select.Query({3});
  EXPECT_EQ(rows[0].String(0), longer);
  EXPECT_TRUE(rows[0].IsNull(1));

  // The table is still there, the value matched exactly as a parameter, and the fixture's
  // independent connection sees the same bytes.
  EXPECT_EQ(conn.Prepare("SELECT id FROM s WHERE txt = ?").Query({nasty})[0].Int64(0), 1);
  EXPECT_EQ(Scalar("SELECT txt FROM s WHERE id = 2"), unicode);
  EXPECT_EQ(Scalar("SELECT HEX(bin) FROM s WHERE id = 1"), "610062FF01");
  // The text protocol reads the same.
  EXPECT_EQ(conn.Query("SELECT txt FROM s WHERE id = 1")[0].String(0), nasty);
  EXPECT_EQ(conn.Query("SELECT txt FROM s WHERE id = 3")[0].String(0), longer);
}

TEST_F(MysqlConnectionTest, Int64Extremes) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE n (k INT PRIMARY KEY, v BIGINT, u BIGINT UNSIGNED)");
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr uint64_t kUmax = std::numeric_limits<uint64_t>::max();
  MysqlStatement insert = conn.Prepare("INSERT INTO n (k, v, u) VALUES (?, ?, ?)");
  insert.Execute({1, kMin, 0u});
  insert.Execute({2, kMax, kUmax});
  insert.Execute({3, -1, uint64_t{1} << 63});

  MysqlRows rows = conn.Prepare("SELECT v, u FROM n ORDER BY k").Query();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].Int64(0), kMin);
  EXPECT_EQ(rows[0].Uint64(1), 0u);
  EXPECT_EQ(rows[1].Int64(0), kMax);
  EXPECT_EQ(rows[1].Uint64(1), kUmax);
  EXPECT_THROW(rows[1].Int64(1), MysqlError);  // does not fit
  EXPECT_EQ(rows[2].Int64(0), -1);
  EXPECT_EQ(rows[2].Uint64(1), uint64_t{1} << 63);
  EXPECT_EQ(Scalar("SELECT v FROM n WHERE k = 1"), "-9223372036854775808");

  // Extremes as parameters in comparisons.
  EXPECT_EQ(conn.Prepare("SELECT COUNT(*) FROM n WHERE v > ?").Query({kMin})[0].Int64(0), 2);
  EXPECT_EQ(conn.Prepare("SELECT k FROM n WHERE u = ?").Query({kUmax})[0].Int64(0), 2);
  // Out of range for the column: the server refuses (strict mode).
  EXPECT_THROW(insert.Execute({4, kUmax, 0u}), MysqlError);
}

TEST_F(MysqlConnectionTest, StatementsAreReusableAndCheckTheirValues) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE r (id INT PRIMARY KEY, v INT)");
  MysqlStatement insert = conn.Prepare("INSERT INTO r VALUES (?, ?)");
  for (int i = 0; i < 50; ++i) insert.Execute({i, i * i});
  EXPECT_EQ(conn.Execute("UPDATE r SET v = -1 WHERE id < 10"), 10u);
  EXPECT_EQ(conn.Execute("UPDATE r SET v = -1 WHERE id < 10"), 0u);  // changed, not matched
  MysqlStatement update = conn.Prepare("UPDATE r SET v = v + 1 WHERE id >= ?");
  EXPECT_EQ(update.Execute({45}).affected_rows, 5u);

  EXPECT_THROW(insert.Execute({1}), std::logic_error);
  EXPECT_THROW(insert.Bind(1).Bind(2).Bind(3).Execute(), std::logic_error);
  insert.Execute({100, 1});  // a failed bind leaves nothing behind

  // Keyset pagination, the shape the member migration uses.
  MysqlStatement page = conn.Prepare("SELECT id FROM r WHERE id > ? ORDER BY id LIMIT ?");
  int64_t last = -1;
  size_t seen = 0;
  while (true) {
    MysqlRows chunk = page.Query({last, 16});
    if (chunk.empty()) break;
    seen += chunk.size();
    last = chunk[chunk.size() - 1].Int64(0);
  }
  EXPECT_EQ(seen, 51u);

  // A statement that returns rows can be run with Execute; the rows are discarded and the
  // connection stays usable.
  conn.Prepare("SELECT * FROM r").Execute();
  EXPECT_EQ(conn.Query("SELECT COUNT(*) FROM r")[0].Int64(0), 51);
}

TEST_F(MysqlConnectionTest, TransactionCommits) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE m (id INT PRIMARY KEY) ENGINE=InnoDB");
  {
    MysqlTransaction tx(conn);
    conn.Prepare("INSERT INTO m VALUES (?)").Execute({1});
    EXPECT_EQ(Scalar("SELECT COUNT(*) FROM m"), "0");  // not visible to others yet
    tx.Commit();
    EXPECT_TRUE(tx.finished());
  }
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM m"), "1");
  EXPECT_EQ(conn.Query("SELECT @@autocommit")[0].Int64(0), 1);  // autocommit again
}

TEST_F(MysqlConnectionTest, TransactionRollsBackWhenNotCommitted) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE m (id INT PRIMARY KEY) ENGINE=InnoDB");
  MysqlStatement insert = conn.Prepare("INSERT INTO m VALUES (?)");
  {
    MysqlTransaction tx(conn);
    insert.Execute({1});
    EXPECT_EQ(conn.Query("SELECT COUNT(*) FROM m")[0].Int64(0), 1);  // visible inside
  }
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM m"), "0");

  // An exception halfway: the first insert is rolled back with the transaction.
  try {
    MysqlTransaction tx(conn);
    insert.Execute({2});
    insert.Execute({2});
    tx.Commit();
    FAIL() << "no duplicate key error";
  } catch (const MysqlDuplicateKeyError&) {
  }
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM m"), "0");

  {
    MysqlTransaction tx(conn);
    insert.Execute({3});
    tx.Rollback();
  }
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM m"), "0");
  insert.Execute({4});  // autocommit again
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM m"), "1");
}

TEST_F(MysqlConnectionTest, DuplicateKeyAndOtherErrorsAreTyped) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE d (id INT PRIMARY KEY, email VARCHAR(64) UNIQUE)");
  MysqlStatement insert = conn.Prepare("INSERT INTO d (id, email) VALUES (?, ?)");
  insert.Execute({1, "a@example.com"});
  try {
    insert.Execute({2, "a@example.com"});
    FAIL() << "no error";
  } catch (const MysqlDuplicateKeyError& e) {
    EXPECT_EQ(e.code(), 1062u);
    EXPECT_EQ(e.sql(), "INSERT INTO d (id, email) VALUES (?, ?)");
    EXPECT_EQ(e.exit_code(), kExitFailure);
    std::string what = e.what();
    EXPECT_EQ(what.rfind("MariaDB at 127.0.0.1:", 0), 0u) << what;
    EXPECT_NE(what.find("Duplicate entry"), std::string::npos) << what;
    EXPECT_NE(what.find("(1062) in: INSERT INTO d (id, email) VALUES (?, ?)"), std::string::npos)
        << what;
  }

  try {
    conn.Execute("SELEC 1");
    FAIL() << "no error";
  } catch (const MysqlError& e) {
    EXPECT_EQ(e.code(), 1064u);
    EXPECT_EQ(dynamic_cast<const MysqlConnectionLostError*>(&e), nullptr);
    EXPECT_EQ(dynamic_cast<const MysqlDuplicateKeyError*>(&e), nullptr);
    EXPECT_EQ(dynamic_cast<const MysqlRetryableError*>(&e), nullptr);
  }
  try {
    conn.Prepare("SELECT * FROM no_such_table WHERE id = ?");
    FAIL() << "no error";
  } catch (const MysqlError& e) {
    EXPECT_EQ(e.code(), 1146u);
    EXPECT_EQ(e.sql(), "SELECT * FROM no_such_table WHERE id = ?");
  }
  EXPECT_TRUE(conn.Ping());  // errors in statements leave the connection usable
}

TEST_F(MysqlConnectionTest, LockWaitTimeoutIsRetryable) {
  MysqlConnection holder = Connect();
  MysqlConnection waiter = Connect();
  holder.Execute("CREATE TABLE l (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
  holder.Execute("INSERT INTO l VALUES (1, 0)");
  MysqlTransaction hold(holder);
  holder.Execute("SELECT * FROM l WHERE id = 1 FOR UPDATE");

  waiter.Execute("SET SESSION innodb_lock_wait_timeout = 1");
  MysqlTransaction tx(waiter);
  try {
    waiter.Prepare("UPDATE l SET v = ? WHERE id = ?").Execute({5, 1});
    FAIL() << "no error";
  } catch (const MysqlRetryableError& e) {
    EXPECT_EQ(e.code(), 1205u);
  }
}

TEST_F(MysqlConnectionTest, ConnectionLostAfterKillThenReconnect) {
  MysqlConnection conn = Connect();
  conn.Execute("CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB");
  MysqlStatement insert = conn.Prepare("INSERT INTO p VALUES (?)");
  insert.Execute({1});

  db_->Kill();
  try {
    insert.Execute({2});
    FAIL() << "no error";
  } catch (const MysqlConnectionLostError& e) {
    EXPECT_TRUE(e.code() == 2006 || e.code() == 2013) << e.what();
  }
  EXPECT_THROW(conn.Execute("SELECT 1"), MysqlConnectionLostError);
  EXPECT_FALSE(conn.Ping());
  EXPECT_THROW(conn.Reconnect(), MysqlConnectError);

  db_->Restart();
  EXPECT_TRUE(conn.EnsureConnected());   // it had to reconnect
  EXPECT_FALSE(conn.EnsureConnected());  // now it is fine
  // Committed data survived the crash.
  EXPECT_EQ(conn.Query("SELECT COUNT(*) FROM p")[0].Int64(0), 1);
  // Statements prepared on the old connection are dead; prepare them again.
  EXPECT_THROW(insert.Execute({3}), MysqlConnectionLostError);
  conn.Prepare("INSERT INTO p VALUES (?)").Execute({3});
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM p"), "2");
}

TEST_F(MysqlConnectionTest, ReadTimeoutBreaksTheConnection) {
  MysqlConnection::Options options;
  options.read_timeout_ms = 1000;
  MysqlConnection conn = MysqlConnection::Connect(Url(db_->url()), options);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(conn.Execute("SELECT SLEEP(5)"), MysqlConnectionLostError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(MysqlConnectionTest, BadPasswordIsAClearConnectError) {
  std::string url =
      "mysql://warden:wrong-secret@127.0.0.1:" + std::to_string(db_->port()) + "/warden_test";
  try {
    MysqlConnection::Connect(Url(url));
    FAIL() << "no error";
  } catch (const MysqlConnectError& e) {
    std::string what = e.what();
    EXPECT_EQ(e.code(), 1045u);
    EXPECT_EQ(what.rfind("cannot connect to MariaDB at 127.0.0.1:", 0), 0u) << what;
    EXPECT_NE(what.find("Access denied for user 'warden'"), std::string::npos) << what;
    EXPECT_EQ(what.find("wrong-secret"), std::string::npos) << what;
    EXPECT_EQ(e.exit_code(), kExitFailure);
  }
  try {
    MysqlConnection::Connect(
        Url("mysql://warden:warden@127.0.0.1:" + std::to_string(db_->port()) + "/other_db"));
    FAIL() << "no error";
  } catch (const MysqlConnectError& e) {
    EXPECT_TRUE(e.code() == 1044u || e.code() == 1049u) << e.what();
  }
}

TEST_F(MysqlConnectionTest, WrongPortIsAClearConnectError) {
  const int port = test::FreePort();  // nothing listens there
  auto start = std::chrono::steady_clock::now();
  try {
    MysqlConnection::Connect(
        Url("mysql://warden:warden@127.0.0.1:" + std::to_string(port) + "/warden_test"));
    FAIL() << "no error";
  } catch (const MysqlConnectError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("cannot connect to MariaDB at 127.0.0.1:" + std::to_string(port), 0), 0u)
        << what;
    EXPECT_EQ(e.code(), 2002u) << what;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);

  EXPECT_THROW(MysqlConnection::Connect(
                   Url("mysql://warden:warden@/warden_test?socket=" + db_->dir() + "/none.sock")),
               MysqlConnectError);
}

TEST_F(MysqlConnectionTest, SilentServerTimesOutWithinTheConnectTimeout) {
  // A socket that listens but never accepts: the TCP handshake completes in the kernel, the
  // server greeting never comes.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  MysqlConnection::Options options;
  options.connect_timeout_ms = 1000;
  auto start = std::chrono::steady_clock::now();
  try {
    MysqlConnection::Connect(
        Url("mysql://warden:warden@127.0.0.1:" + std::to_string(port) + "/warden_test"), options);
    FAIL() << "no error";
  } catch (const MysqlConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("no answer within 1s"), std::string::npos) << e.what();
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
  close(fd);
}

}  // namespace
}  // namespace warden
