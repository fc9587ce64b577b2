#include "support/mariadb_server.h"

#include <mysql.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "common/c_ptr.h"
#include "support/free_port.h"
#include "support/poll_until.h"

namespace warden::test {

namespace {

using MysqlPtr = CPtr<MYSQL, mysql_close>;
using ResultPtr = CPtr<MYSQL_RES, mysql_free_result>;

// $variable, else `name` from PATH, /usr/sbin or /usr/bin (mariadbd lives in /usr/sbin, which
// is not on every user's PATH).
std::string FindProgram(const char* variable, const std::string& name) {
  if (const char* set = std::getenv(variable); set != nullptr && *set != '\0') return set;
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      std::string path = dir + "/" + name;
      if (access(path.c_str(), X_OK) == 0) return path;
    }
    start = end + 1;
  }
  throw std::runtime_error(name + " not found (install mariadb-server, or set " + variable + ")");
}

// Where the server's directory goes: $WARDEN_MARIADB_TMPDIR, else /dev/shm when it is writable
// with room to spare (a datadir is ~120 MB; on a busy disk install-db takes seconds instead of
// 0.4 s), else $TMPDIR or /tmp.
std::string ParentDir() {
  if (const char* set = std::getenv("WARDEN_MARIADB_TMPDIR"); set != nullptr && *set != '\0') {
    return set;
  }
  struct statvfs vfs;
  if (access("/dev/shm", W_OK) == 0 && statvfs("/dev/shm", &vfs) == 0 &&
      static_cast<unsigned long long>(vfs.f_bavail) * vfs.f_frsize > (1ULL << 30)) {
    return "/dev/shm";
  }
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// Connects as root over the socket; `database` may be empty. Null with `error` set on failure.
MysqlPtr ConnectRoot(const std::string& socket, const std::string& database, unsigned timeout_s,
                     std::string* error) {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
  MysqlPtr mysql(mysql_init(nullptr));
  if (!mysql) {
    *error = "mysql_init: out of memory";
    return nullptr;
  }
  const unsigned int protocol = MYSQL_PROTOCOL_SOCKET;
  mysql_options(mysql.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
  mysql_options(mysql.get(), MYSQL_OPT_READ_TIMEOUT, &timeout_s);
  mysql_options(mysql.get(), MYSQL_OPT_WRITE_TIMEOUT, &timeout_s);
  mysql_options(mysql.get(), MYSQL_OPT_PROTOCOL, &protocol);
  mysql_options(mysql.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(mysql.get(), nullptr, "root", "",
                         database.empty() ? nullptr : database.c_str(), 0, socket.c_str(),
                         0) == nullptr) {
    *error = mysql_error(mysql.get());
    return nullptr;
  }
  return mysql;
}

MariaDbRows RunQuery(MYSQL* mysql, const std::string& sql) {
  if (mysql_real_query(mysql, sql.data(), sql.size()) != 0) {
    throw std::runtime_error("test MariaDB: " + std::string(mysql_error(mysql)) + " in: " + sql);
  }
  ResultPtr result(mysql_store_result(mysql));
  MariaDbRows rows;
  if (!result) {
    if (mysql_field_count(mysql) != 0) {
      throw std::runtime_error("test MariaDB: " + std::string(mysql_error(mysql)) + " in: " + sql);
    }
    return rows;
  }
  const unsigned columns = mysql_num_fields(result.get());
  while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
    const unsigned long* lengths = mysql_fetch_lengths(result.get());
    std::vector<std::optional<std::string>> values(columns);
    for (unsigned i = 0; i < columns; ++i) {
      if (row[i] != nullptr) values[i].emplace(row[i], lengths[i]);
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

}  // namespace

MariaDbServer::MariaDbServer(Options options)
    : options_(std::move(options)), dir_("warden-mariadb", ParentDir()) {
  socket_path_ = dir_.File("mariadb.sock");
  Install();
  bool started = false;
  for (int attempt = 0; attempt < 5 && !started; ++attempt) {
    port_ = FreePort();
    started = TryStart();
  }
  if (!started) throw std::runtime_error("mariadbd did not start; log:\n" + LogTail());

  std::string error;
  MysqlPtr root = ConnectRoot(socket_path_, "", 5, &error);
  if (!root) throw std::runtime_error("test MariaDB: cannot connect as root: " + error);
  const std::string user = std::string("'") + kUser + "'";
  for (const std::string& sql : {
           std::string("CREATE DATABASE ") + kDatabase + " CHARACTER SET utf8mb4",
           "CREATE USER " + user + "@'127.0.0.1' IDENTIFIED BY '" + kPassword + "'",
           "CREATE USER " + user + "@'localhost' IDENTIFIED BY '" + kPassword + "'",
           std::string("GRANT ALL ON ") + kDatabase + ".* TO " + user + "@'127.0.0.1'",
           std::string("GRANT ALL ON ") + kDatabase + ".* TO " + user + "@'localhost'",
       }) {
    RunQuery(root.get(), sql);
  }
}

void MariaDbServer::Install() {
  ProcessOptions po;
  po.argv = {FindProgram("WARDEN_MARIADB_INSTALL_DB", "mariadb-install-db"), "--no-defaults",
             "--datadir=" + datadir(), "--auth-root-authentication-method=normal", "--skip-test-db",
             "--skip-name-resolve",
             // Passed on to the bootstrap server: the redo log the server will run with, so the
             // first start need not resize it.
             "--innodb-log-file-size=48M",
             // Its temporary tables in a directory of its own, not the shared /tmp: with
             // several installs at once (ctest -j), one failed on "File
             // '/tmp/#sql-temptable-7125-1-8.MAD' not found".
             "--tmpdir=" + dir_.path()};
  if (geteuid() == 0) po.argv.push_back("--user=root");
  RunResult result = Run(std::move(po), std::nullopt, std::chrono::seconds(60));
  if (result.exit_code != 0) {
    throw std::runtime_error("mariadb-install-db failed (exit " + std::to_string(result.exit_code) +
                             "):\n" + result.out + result.err);
  }
}

bool MariaDbServer::TryStart() {
  ProcessOptions po;
  po.argv = {FindProgram("WARDEN_MARIADBD", "mariadbd"), "--no-defaults", "--datadir=" + datadir(),
             "--socket=" + socket_path_, "--port=" + std::to_string(port_),
             "--bind-address=" + host_, "--skip-name-resolve",
             "--pid-file=" + dir_.File("mariadb.pid"), "--log-error=" + log_path(),
             "--tmpdir=" + dir_.path(), "--skip-log-bin", "--innodb-buffer-pool-size=64M",
             "--innodb-log-file-size=48M",
             // Commits reach the OS at once and the disk within a second: survives kill -9 of
             // the server (what tests do), not a power cut, and keeps tests fast.
             "--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci"};
  if (geteuid() == 0) po.argv.push_back("--user=root");
  po.argv.insert(po.argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  const size_t log_start = [&] {
    try {
      return ReadFile(log_path()).size();
    } catch (const std::exception&) {
      return size_t{0};
    }
  }();
  process_.emplace(Process::Start(std::move(po)));

  bool up = PollUntil([this] { return !process_->Running() || Ping(); }, options_.start_timeout,
                      std::chrono::milliseconds(20));
  if (up && process_->Running()) return true;
  process_->Kill();
  std::string log;
  try {
    log = ReadFile(log_path()).substr(log_start);
  } catch (const std::exception&) {
  }
  if (log.find("Address already in use") != std::string::npos) return false;
  throw std::runtime_error(
      "mariadbd did not " + std::string(up ? "start" : "answer within the start timeout") +
      " on port " + std::to_string(port_) + "; log:\n" + LogTail() + process_->Stderr());
}

void MariaDbServer::Stop() {
  if (!process_ || !process_->Running()) return;
  process_->Signal(SIGTERM);
  if (!process_->Wait(std::chrono::seconds(30))) process_->Kill();
}

void MariaDbServer::Kill() {
  if (process_) process_->Kill();
}

void MariaDbServer::Restart() {
  if (process_ && process_->Running()) Stop();
  // The port was ours a moment ago; if something else grabbed it, say so rather than move.
  if (!TryStart()) {
    throw std::runtime_error("cannot restart mariadbd: port " + std::to_string(port_) +
                             " is taken");
  }
}

bool MariaDbServer::running() { return process_ && process_->Running(); }

std::string MariaDbServer::url() const {
  return std::string("mysql://") + kUser + ":" + kPassword + "@" + host_ + ":" +
         std::to_string(port_) + "/" + kDatabase;
}

std::string MariaDbServer::socket_url() const {
  return std::string("mysql://") + kUser + ":" + kPassword + "@/" + kDatabase +
         "?socket=" + socket_path_;
}

MariaDbRows MariaDbServer::Query(const std::string& sql) const {
  std::string error;
  MysqlPtr root = ConnectRoot(socket_path_, kDatabase, 10, &error);
  if (!root) throw std::runtime_error("test MariaDB: cannot connect as root: " + error);
  return RunQuery(root.get(), sql);
}

void MariaDbServer::ResetDatabase() const {
  std::string error;
  MysqlPtr root = ConnectRoot(socket_path_, "", 10, &error);
  if (!root) throw std::runtime_error("test MariaDB: cannot connect as root: " + error);
  RunQuery(root.get(), std::string("DROP DATABASE IF EXISTS ") + kDatabase);
  RunQuery(root.get(), std::string("CREATE DATABASE ") + kDatabase + " CHARACTER SET utf8mb4");
}

bool MariaDbServer::Ping() const {
  std::string error;
  MysqlPtr root = ConnectRoot(socket_path_, "", 1, &error);
  return root && mysql_ping(root.get()) == 0;
}

std::string MariaDbServer::LogTail(size_t lines) const {
  std::string log;
  try {
    log = ReadFile(log_path());
  } catch (const std::exception& e) {
    return e.what();
  }
  size_t pos = log.size();
  if (pos > 0 && log[pos - 1] == '\n') --pos;
  for (size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n) {
    pos = log.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? log : log.substr(pos + 1);
}

}  // namespace warden::test
