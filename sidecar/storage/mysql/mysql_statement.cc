#include "storage/mysql/mysql_statement.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "common/c_ptr.h"
#include "storage/mysql/mysql_error.h"

namespace warden {

namespace {

// MYSQL_BIND's flags are my_bool (char) in Connector/C and bool in libmysqlclient 8.
using BindFlag = std::remove_pointer_t<decltype(MYSQL_BIND::is_null)>;

constexpr unsigned long kInitialBufferSize = 256;


// Frees the statement's result set (unread rows included) when a run ends, however it ends, so
// the connection is ready for the next command.
class FreeResultGuard {
 public:
  explicit FreeResultGuard(MYSQL_STMT* stmt) : stmt_(stmt) {}
  ~FreeResultGuard() { mysql_stmt_free_result(stmt_); }
  FreeResultGuard(const FreeResultGuard&) = delete;
  FreeResultGuard& operator=(const FreeResultGuard&) = delete;

 private:
  MYSQL_STMT* stmt_;
};

}  // namespace

MysqlStatement MysqlStatement::Prepare(MYSQL* mysql, std::string_view sql, std::string endpoint) {
  MYSQL_STMT* stmt = mysql_stmt_init(mysql);
  if (stmt == nullptr) {
    ThrowMysqlError(mysql_errno(mysql), mysql_error(mysql), endpoint, sql);
  }
  MysqlStatement statement(stmt, sql, std::move(endpoint));
  if (mysql_stmt_prepare(stmt, sql.data(), sql.size()) != 0) statement.Throw();
  statement.param_count_ = mysql_stmt_param_count(stmt);
  return statement;
}

MysqlStatement& MysqlStatement::Bind(MysqlValue value) {
  values_.push_back(std::move(value));
  return *this;
}

MysqlExecResult MysqlStatement::Execute(std::initializer_list<MysqlValue> values) {
  values_.assign(values.begin(), values.end());
  return Execute();
}

MysqlRows MysqlStatement::Query(std::initializer_list<MysqlValue> values) {
  values_.assign(values.begin(), values.end());
  return Query();
}

MysqlExecResult MysqlStatement::Execute() {
  FreeResultGuard guard(stmt_.get());
  Run();
  MysqlExecResult result;
  result.affected_rows = mysql_stmt_affected_rows(stmt_.get());
  result.last_insert_id = mysql_stmt_insert_id(stmt_.get());
  // A statement that returned rows reports (my_ulonglong)-1 affected rows.
  if (result.affected_rows == static_cast<uint64_t>(-1)) result.affected_rows = 0;
  return result;
}

MysqlRows MysqlStatement::Query() {
  FreeResultGuard guard(stmt_.get());
  unsigned columns = Run();
  return Fetch(columns);
}

unsigned MysqlStatement::Run() {
  std::vector<MysqlValue> values = std::move(values_);
  values_.clear();
  if (values.size() != param_count_) {
    throw std::logic_error("MySQL statement has " + std::to_string(param_count_) +
                           " placeholders but " + std::to_string(values.size()) +
                           " values were bound: " + sql_);
  }

  std::vector<MYSQL_BIND> binds(values.size());
  std::vector<unsigned long> lengths(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    MYSQL_BIND& b = binds[i];
    std::memset(&b, 0, sizeof(b));
    // The binds point into `values`, which outlives mysql_stmt_execute.
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            b.buffer_type = MYSQL_TYPE_NULL;
          } else if constexpr (std::is_same_v<T, int64_t>) {
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = const_cast<int64_t*>(&v);
          } else if constexpr (std::is_same_v<T, uint64_t>) {
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = const_cast<uint64_t*>(&v);
            b.is_unsigned = 1;
          } else if constexpr (std::is_same_v<T, double>) {
            b.buffer_type = MYSQL_TYPE_DOUBLE;
            b.buffer = const_cast<double*>(&v);
          } else {
            b.buffer_type = MYSQL_TYPE_STRING;
            b.buffer = const_cast<char*>(v.data());
            b.buffer_length = v.size();
            lengths[i] = v.size();
            b.length = &lengths[i];
          }
        },
        values[i].get());
  }
  if (!binds.empty() && mysql_stmt_bind_param(stmt_.get(), binds.data()) != 0) Throw();
  if (mysql_stmt_execute(stmt_.get()) != 0) Throw();
  return mysql_stmt_field_count(stmt_.get());
}

MysqlRows MysqlStatement::Fetch(unsigned columns) {
  if (columns == 0) return MysqlRows({}, sql_);
  CPtr<MYSQL_RES, mysql_free_result> meta(mysql_stmt_result_metadata(stmt_.get()));
  if (!meta) Throw();
  std::vector<std::string> names;
  names.reserve(columns);
  MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());
  std::vector<MysqlColumnKind> kinds;
  for (unsigned i = 0; i < columns; ++i) {
    names.emplace_back(fields[i].name, fields[i].name_length);
    kinds.push_back(MysqlColumnKindOf(fields[i].type, fields[i].charsetnr));
  }
  MysqlRows rows(std::move(names), sql_);
  rows.set_kinds(std::move(kinds));

  // Every column is fetched as text (the library converts numbers and dates); a value longer
  // than its buffer is fetched again on its own with a buffer of the right size.
  std::vector<MYSQL_BIND> binds(columns);
  std::vector<std::string> buffers(columns, std::string(kInitialBufferSize, '\0'));
  std::vector<unsigned long> lengths(columns);
  std::vector<BindFlag> nulls(columns);
  std::vector<BindFlag> errors(columns);
  for (unsigned i = 0; i < columns; ++i) {
    MYSQL_BIND& b = binds[i];
    std::memset(&b, 0, sizeof(b));
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = buffers[i].data();
    b.buffer_length = kInitialBufferSize;
    b.length = &lengths[i];
    b.is_null = &nulls[i];
    b.error = &errors[i];
  }
  if (mysql_stmt_bind_result(stmt_.get(), binds.data()) != 0) Throw();

  while (true) {
    int status = mysql_stmt_fetch(stmt_.get());
    if (status == MYSQL_NO_DATA) break;
    if (status != 0 && status != MYSQL_DATA_TRUNCATED) Throw();
    std::vector<std::optional<std::string>> values(columns);
    for (unsigned i = 0; i < columns; ++i) {
      if (nulls[i]) continue;
      if (lengths[i] <= kInitialBufferSize) {
        values[i].emplace(buffers[i].data(), lengths[i]);
        continue;
      }
      std::string value(lengths[i], '\0');
      unsigned long length = 0;
      MYSQL_BIND whole;
      std::memset(&whole, 0, sizeof(whole));
      whole.buffer_type = MYSQL_TYPE_STRING;
      whole.buffer = value.data();
      whole.buffer_length = value.size();
      whole.length = &length;
      if (mysql_stmt_fetch_column(stmt_.get(), &whole, i, 0) != 0) Throw();
      value.resize(std::min<unsigned long>(length, value.size()));
      values[i] = std::move(value);
    }
    rows.Add(std::move(values));
  }
  return rows;
}

void MysqlStatement::Throw() const {
  unsigned code = mysql_stmt_errno(stmt_.get());
  ThrowMysqlError(code, code != 0 ? mysql_stmt_error(stmt_.get()) : "unknown error", endpoint_,
                  sql_);
}

}  // namespace warden
