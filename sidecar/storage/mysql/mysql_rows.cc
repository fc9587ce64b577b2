#include "storage/mysql/mysql_rows.h"

#include <mysql.h>

#include <charconv>

#include "base/errors.h"
#include "storage/mysql/mysql_error.h"

namespace warden {

namespace {

// "MariaDB: <what> in: <sql>", the shape ThrowMysqlError gives server errors.
[[noreturn]] void Fail(const std::string& what, const std::string& sql) {
  throw MysqlError("MariaDB: " + what + (sql.empty() ? "" : " in: " + ShortSql(sql)), 0, sql);
}

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

MysqlColumnKind MysqlColumnKindOf(int field_type, unsigned charsetnr) {
  switch (static_cast<enum_field_types>(field_type)) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
      return MysqlColumnKind::kInteger;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      return MysqlColumnKind::kFloat;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
      return charsetnr == 63 ? MysqlColumnKind::kBinary : MysqlColumnKind::kText;
    default:
      return MysqlColumnKind::kText;
  }
}

void MysqlRows::Add(std::vector<std::optional<std::string>> values) {
  if (values.size() != columns_.size()) {
    Fail("a row with " + std::to_string(values.size()) + " values for " +
             std::to_string(columns_.size()) + " columns",
         sql_);
  }
  for (auto& value : values) cells_.push_back(std::move(value));
}

size_t MysqlRows::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  Fail("the result has no column \"" + std::string(name) + "\"", sql_);
}

size_t MysqlRow::size() const { return rows_->columns_.size(); }

const std::optional<std::string>& MysqlRow::Get(size_t column) const {
  if (column >= size()) {
    Fail("column " + std::to_string(column) + " of a result with " + std::to_string(size()) +
             " columns",
         rows_->sql_);
  }
  return rows_->cells_[index_ * size() + column];
}

bool MysqlRow::IsNull(size_t column) const { return !Get(column).has_value(); }

void MysqlRow::Unexpected(size_t column, const char* expected) const {
  const auto& value = Get(column);
  std::string got = value ? "\"" + value->substr(0, 40) + "\"" : "NULL";
  Fail("column " + std::to_string(column) + " (" + rows_->columns_[column] + ") is " + got +
           ", expected " + expected,
       rows_->sql_);
}

const std::string& MysqlRow::NotNull(size_t column, const char* expected) const {
  const auto& value = Get(column);
  if (!value) Unexpected(column, expected);
  return *value;
}

std::string MysqlRow::String(size_t column) const { return NotNull(column, "a string"); }

int64_t MysqlRow::Int64(size_t column) const {
  int64_t value = 0;
  if (!ParseNumber(NotNull(column, "an integer"), &value)) Unexpected(column, "an integer");
  return value;
}

uint64_t MysqlRow::Uint64(size_t column) const {
  uint64_t value = 0;
  if (!ParseNumber(NotNull(column, "an unsigned integer"), &value)) {
    Unexpected(column, "an unsigned integer");
  }
  return value;
}

double MysqlRow::Double(size_t column) const {
  double value = 0;
  if (!ParseNumber(NotNull(column, "a number"), &value)) Unexpected(column, "a number");
  return value;
}

std::optional<std::string> MysqlRow::OptionalString(size_t column) const { return Get(column); }

std::optional<int64_t> MysqlRow::OptionalInt64(size_t column) const {
  if (IsNull(column)) return std::nullopt;
  return Int64(column);
}

}  // namespace warden
