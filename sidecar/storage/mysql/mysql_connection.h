#pragma once

#include <mysql.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/c_ptr.h"
#include "storage/mysql/mysql_rows.h"
#include "storage/mysql/mysql_statement.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

// One blocking connection to MariaDB/MySQL (Connector/C or libmysqlclient), in utf8mb4 with
// autocommit on. Failures throw the MysqlError family (errors.h): MysqlConnectError while
// connecting, MysqlConnectionLostError once the connection broke or a reply did not come in
// time, MysqlRetryableError for a deadlock or lock wait timeout, MysqlDuplicateKeyError, and
// MysqlError for the rest. Every error carries the error number and the SQL (never values).
//
//   MysqlConnection conn = MysqlConnection::Connect(url);
//   conn.Execute("CREATE TABLE IF NOT EXISTS t (id BIGINT PRIMARY KEY, name VARCHAR(64))");
//   MysqlStatement insert = conn.Prepare("INSERT INTO t (id, name) VALUES (?, ?)");
//   insert.Execute({1, "first"});
//   MysqlRows rows = conn.Prepare("SELECT id, name FROM t WHERE id > ?").Query({0});
//
// Anything that carries a value goes through Prepare: never build SQL from input. The client
// library never reconnects on its own (that would silently drop a transaction and session
// state); Ping tells whether the connection still works and Reconnect makes a new one.
// One connection serves one thread at a time. Movable, not copyable.
class MysqlConnection {
 public:
  struct Options {
    // Each is rounded up to whole seconds, the client library's unit.
    int64_t connect_timeout_ms = 2000;  // TCP connect and handshake
    int64_t read_timeout_ms = 30000;    // waiting for any reply: a slower statement fails
    int64_t write_timeout_ms = 30000;   // sending a statement
  };

  // Throws MysqlConnectError ("cannot connect to MariaDB at 127.0.0.1:3306: Access denied ...").
  static MysqlConnection Connect(const MysqlUrl& url, const Options& options);
  static MysqlConnection Connect(const MysqlUrl& url) { return Connect(url, Options()); }

  // Runs a statement that carries no values (DDL, SET, START TRANSACTION) and returns the number
  // of rows it affected; a result set, if any, is discarded.
  uint64_t Execute(std::string_view sql);
  // Runs a query that carries no values and returns its rows.
  MysqlRows Query(std::string_view sql);
  // Prepares a statement with `?` placeholders. The statement belongs to this connection: use it
  // only while the connection lives, and prepare it again after Reconnect.
  MysqlStatement Prepare(std::string_view sql);

  // True when the server answers right now (mysql_ping; never reconnects).
  bool Ping();
  // Replaces the connection with a new one to the same server with the same options; statements
  // prepared before fail with MysqlConnectionLostError. Throws MysqlConnectError.
  void Reconnect();
  // Ping, and Reconnect if that failed. Returns true when it reconnected.
  bool EnsureConnected();

  const MysqlUrl& url() const { return url_; }
  // "127.0.0.1:3306" or the socket path, for messages.
  const std::string& endpoint() const { return endpoint_; }
  // "10.11.6-MariaDB-0+deb12u1".
  std::string ServerVersion() const;
  // The handle, for the rare call this class does not wrap.
  MYSQL* handle() const { return mysql_.get(); }

 private:
  using Handle = CPtr<MYSQL, mysql_close>;

  MysqlConnection(Handle mysql, const MysqlUrl& url, const Options& options);
  static Handle Open(const MysqlUrl& url, const Options& options, const std::string& endpoint);
  [[noreturn]] void Throw(std::string_view sql) const;

  Handle mysql_;
  MysqlUrl url_;
  Options options_;
  std::string endpoint_;
};

}  // namespace warden
