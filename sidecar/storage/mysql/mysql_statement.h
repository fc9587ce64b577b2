#pragma once

#include <mysql.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/c_ptr.h"
#include "storage/mysql/mysql_rows.h"
#include "storage/mysql/mysql_value.h"

namespace warden {

// What a statement without a result set did.
struct MysqlExecResult {
  uint64_t affected_rows = 0;   // rows changed (not merely matched) by UPDATE; 2 per updated row
                                // of INSERT ... ON DUPLICATE KEY UPDATE
  uint64_t last_insert_id = 0;  // the AUTO_INCREMENT value of the first row inserted, or 0
};

// A server-side prepared statement (MYSQL_STMT), made by MysqlConnection::Prepare. Bind one
// value per `?`, in order, then Execute or Query; the values are used once, and the statement
// can be run again with new ones:
//   MysqlStatement st = conn.Prepare(
//       "SELECT id FROM member WHERE last_login_time < ? AND id > ? ORDER BY id LIMIT ?");
//   st.Bind(cutoff).Bind(last_id).Bind(1000);
//   MysqlRows rows = st.Query();
//   rows = st.Query({cutoff, rows[rows.size() - 1].Int64(0), 1000});
// Errors throw the MysqlError family like MysqlConnection's. Binding the wrong number of values
// is a programming error: std::logic_error. Movable, not copyable.
class MysqlStatement {
 public:
  // Prepares `sql` on `mysql` (MysqlConnection::Prepare is the usual way in); `endpoint` names
  // the server in messages.
  static MysqlStatement Prepare(MYSQL* mysql, std::string_view sql, std::string endpoint);

  // Adds the value for the next `?`.
  MysqlStatement& Bind(MysqlValue value);
  // Runs the statement with the bound values; any result set is discarded.
  MysqlExecResult Execute();
  MysqlExecResult Execute(std::initializer_list<MysqlValue> values);
  // Runs the statement with the bound values and returns every row.
  MysqlRows Query();
  MysqlRows Query(std::initializer_list<MysqlValue> values);

  size_t param_count() const { return param_count_; }
  const std::string& sql() const { return sql_; }

 private:
  MysqlStatement(MYSQL_STMT* stmt, std::string_view sql, std::string endpoint)
      : stmt_(stmt), sql_(sql), endpoint_(std::move(endpoint)) {}

  // Binds the values and executes; returns the number of result columns.
  unsigned Run();
  MysqlRows Fetch(unsigned columns);
  [[noreturn]] void Throw() const;

  CPtr<MYSQL_STMT, mysql_stmt_close> stmt_;
  std::string sql_;
  std::string endpoint_;
  size_t param_count_ = 0;
  std::vector<MysqlValue> values_;
};

}  // namespace warden
