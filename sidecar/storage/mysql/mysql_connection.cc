#include "storage/mysql/mysql_connection.h"

#include <chrono>
#include <mutex>

#include "common/c_ptr.h"
#include "base/duration.h"
#include "base/errors.h"
#include "storage/mysql/mysql_error.h"

namespace warden {

namespace {

using ResultPtr = CPtr<MYSQL_RES, mysql_free_result>;

unsigned int Seconds(int64_t ms) {
  if (ms <= 0) return 1;
  return static_cast<unsigned int>((ms + 999) / 1000);
}

// mysql_library_init is not thread-safe; everything after it is.
void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

}  // namespace

MysqlConnection::MysqlConnection(Handle mysql, const MysqlUrl& url, const Options& options)
    : mysql_(std::move(mysql)), url_(url), options_(options), endpoint_(url.Endpoint()) {}

MysqlConnection MysqlConnection::Connect(const MysqlUrl& url, const Options& options) {
  return MysqlConnection(Open(url, options, url.Endpoint()), url, options);
}

MysqlConnection::Handle MysqlConnection::Open(const MysqlUrl& url, const Options& options,
                                              const std::string& endpoint) {
  InitLibrary();
  const std::string where = "cannot connect to MariaDB at " + endpoint;
  Handle mysql(mysql_init(nullptr));
  if (!mysql) throw MysqlConnectError(where + ": out of memory", 0, "");

  const unsigned int connect_timeout = Seconds(options.connect_timeout_ms);
  const unsigned int read_timeout = Seconds(options.read_timeout_ms);
  const unsigned int write_timeout = Seconds(options.write_timeout_ms);
  // A host means TCP even for "localhost", a socket means that socket: no library guesswork.
  const unsigned int protocol = url.is_unix() ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
  mysql_options(mysql.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(mysql.get(), MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_options(mysql.get(), MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
  mysql_options(mysql.get(), MYSQL_OPT_PROTOCOL, &protocol);
  mysql_options(mysql.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");

  const auto start = std::chrono::steady_clock::now();
  MYSQL* connected = mysql_real_connect(mysql.get(), url.is_unix() ? nullptr : url.host.c_str(),
                                        url.user.empty() ? nullptr : url.user.c_str(),
                                        url.password.c_str(), url.database.c_str(),
                                        url.is_unix() ? 0 : static_cast<unsigned int>(url.port),
                                        url.is_unix() ? url.socket_path.c_str() : nullptr, 0);
  if (connected == nullptr) {
    const unsigned code = mysql_errno(mysql.get());
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::string message = where + ": " + mysql_error(mysql.get());
    if (IsMysqlConnectionLost(code) && elapsed.count() + 100 >= connect_timeout * 1000LL) {
      message = where + ": no answer within " + FormatDuration(connect_timeout * 1000LL);
    }
    throw MysqlConnectError(message + " (" + std::to_string(code) + ")", code, "");
  }
  if (mysql_autocommit(mysql.get(), 1) != 0) {
    throw MysqlConnectError(where + ": cannot turn autocommit on: " + mysql_error(mysql.get()),
                            mysql_errno(mysql.get()), "");
  }
  return mysql;
}

uint64_t MysqlConnection::Execute(std::string_view sql) {
  if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) Throw(sql);
  ResultPtr result(mysql_store_result(mysql_.get()));
  if (!result && mysql_field_count(mysql_.get()) != 0) Throw(sql);
  if (result) return 0;
  return mysql_affected_rows(mysql_.get());
}

MysqlRows MysqlConnection::Query(std::string_view sql) {
  if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) Throw(sql);
  ResultPtr result(mysql_store_result(mysql_.get()));
  if (!result) {
    if (mysql_field_count(mysql_.get()) != 0) Throw(sql);
    return MysqlRows({}, std::string(sql));
  }
  const unsigned columns = mysql_num_fields(result.get());
  std::vector<std::string> names;
  names.reserve(columns);
  MYSQL_FIELD* fields = mysql_fetch_fields(result.get());
  std::vector<MysqlColumnKind> kinds;
  for (unsigned i = 0; i < columns; ++i) {
    names.emplace_back(fields[i].name, fields[i].name_length);
    kinds.push_back(MysqlColumnKindOf(fields[i].type, fields[i].charsetnr));
  }
  MysqlRows rows(std::move(names), std::string(sql));
  rows.set_kinds(std::move(kinds));
  while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
    const unsigned long* lengths = mysql_fetch_lengths(result.get());
    std::vector<std::optional<std::string>> values(columns);
    for (unsigned i = 0; i < columns; ++i) {
      if (row[i] != nullptr) values[i].emplace(row[i], lengths[i]);
    }
    rows.Add(std::move(values));
  }
  // mysql_store_result read everything, so a null row is the end, unless reading failed.
  if (mysql_errno(mysql_.get()) != 0) Throw(sql);
  return rows;
}

MysqlStatement MysqlConnection::Prepare(std::string_view sql) {
  return MysqlStatement::Prepare(mysql_.get(), sql, endpoint_);
}

bool MysqlConnection::Ping() { return mysql_ping(mysql_.get()) == 0; }

void MysqlConnection::Reconnect() { mysql_ = Open(url_, options_, endpoint_); }

bool MysqlConnection::EnsureConnected() {
  if (Ping()) return false;
  Reconnect();
  return true;
}

std::string MysqlConnection::ServerVersion() const {
  const char* info = mysql_get_server_info(mysql_.get());
  return info ? info : "";
}

void MysqlConnection::Throw(std::string_view sql) const {
  unsigned code = mysql_errno(mysql_.get());
  ThrowMysqlError(code, code != 0 ? mysql_error(mysql_.get()) : "unknown error", endpoint_, sql);
}

}  // namespace warden
