#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace warden::test {

// Rows from MariaDbServer::Query: every value as the server's text, nullopt for NULL.
using MariaDbRows = std::vector<std::vector<std::optional<std::string>>>;

// A real, throwaway MariaDB server for integration tests: a fresh datadir made by
// mariadb-install-db in its own temporary directory, mariadbd listening on a free port on
// 127.0.0.1 and on a unix socket in that directory, database `warden_test` (utf8mb4) and user
// warden/warden with all privileges on it. Destroying the object kills the server and removes
// the directory (WARDEN_KEEP_TMP keeps it, see TempDir).
//
//   MariaDbServer db;                         // installed, started, answering
//   MysqlConnection conn = MysqlConnection::Connect(*MysqlUrl::Parse(db.url(), nullptr));
//   EXPECT_EQ(db.Query("SELECT COUNT(*) FROM member")[0][0], "3");
//   db.Kill(); ... db.Restart();              // same port and datadir: the data is still there
//
// The directory is on /dev/shm when that has room (else $TMPDIR; $WARDEN_MARIADB_TMPDIR
// overrides): starting then takes about 0.6 s (mariadb-install-db ~0.4 s, mariadbd ~0.1 s);
// on a busy disk install-db alone can take 4 s. Share one server
// between the tests of a suite and give each test an empty database:
//
//   class MemberTest : public ::testing::Test {
//    protected:
//     static void SetUpTestSuite() { db_ = std::make_unique<MariaDbServer>(); }
//     static void TearDownTestSuite() { db_.reset(); }
//     void SetUp() override {
//       if (!db_->running()) db_->Restart();  // a test may have killed it
//       db_->ResetDatabase();
//     }
//     static inline std::unique_ptr<MariaDbServer> db_;
//   };
//
// SetUpTestSuite starts the server only when a test of the suite runs. (A gtest Environment,
// ::testing::AddGlobalTestEnvironment, would share one server over the whole binary, but it
// starts it even for a filter that selects no database test; and gtest_discover_tests runs
// every test in a process of its own anyway, so per-suite sharing loses nothing under ctest.)
//
// The programs are $WARDEN_MARIADBD and $WARDEN_MARIADB_INSTALL_DB if set, else mariadbd and
// mariadb-install-db from PATH, /usr/sbin and /usr/bin. As root, the server runs as root
// (--user=root).
class MariaDbServer {
 public:
  static constexpr const char* kUser = "warden";
  static constexpr const char* kPassword = "warden";
  static constexpr const char* kDatabase = "warden_test";

  struct Options {
    // Appended to mariadbd's arguments, so they override the defaults: {"--max-connections=20"}.
    std::vector<std::string> extra_args;
    std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
  };

  MariaDbServer() : MariaDbServer(Options()) {}
  // Installs and starts the server; throws std::runtime_error with the tail of the error log if
  // it does not come up.
  explicit MariaDbServer(Options options);
  ~MariaDbServer() = default;  // the Process member kills the server, then TempDir goes
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  // Graceful: SIGTERM, then waits for the server to exit (SIGKILL after 30 s).
  void Stop();
  // SIGKILL, then waits: the server vanishes as in a crash; InnoDB recovers on Restart.
  void Kill();
  // Starts again on the same port and datadir (after Stop or Kill); the data persists.
  void Restart();
  bool running();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& dir() const { return dir_.path(); }
  std::string datadir() const { return dir_.File("data"); }
  std::string log_path() const { return dir_.File("mariadb.err"); }
  // "mysql://warden:warden@127.0.0.1:PORT/warden_test".
  std::string url() const;
  // "mysql://warden:warden@/warden_test?socket=SOCKET".
  std::string socket_url() const;

  // Runs one statement as root over the socket, in warden_test, and returns its rows (none for
  // statements without a result). Throws std::runtime_error with the server's message.
  MariaDbRows Query(const std::string& sql) const;
  // Drops and creates warden_test again: an empty database for the next test.
  void ResetDatabase() const;
  // True when the server accepts a connection and answers right now.
  bool Ping() const;
  // The last `lines` lines of the error log, for failure messages.
  std::string LogTail(size_t lines = 40) const;

 private:
  void Install();
  bool TryStart();  // false when the port was taken meanwhile

  Options options_;
  TempDir dir_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string socket_path_;
  std::optional<Process> process_;
};

}  // namespace warden::test
