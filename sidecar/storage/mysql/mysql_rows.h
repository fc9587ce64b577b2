#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden {

class MysqlRows;

// What a result column holds, from its type in the result metadata: enough to write a value
// as JSON (numbers as numbers, everything else as text).
enum class MysqlColumnKind {
  kText,     // strings, dates and times, JSON, DECIMAL (kept exact), BIT, ...
  kInteger,  // TINYINT ... BIGINT, YEAR
  kFloat,    // FLOAT, DOUBLE
  kBinary,   // BINARY, VARBINARY, BLOB: bytes, not text
};
// The kind of a column of type `field_type` (enum_field_types) in character set `charsetnr`
// (63: binary).
MysqlColumnKind MysqlColumnKindOf(int field_type, unsigned charsetnr);

// A read-only view of one row of MysqlRows. Accessors check what they read and throw MysqlError
// ("column 2 (last_login_time) is NULL, expected an integer") instead of guessing, so a
// surprising value in the database never turns into a wrong number.
class MysqlRow {
 public:
  MysqlRow(const MysqlRows& rows, size_t index) : rows_(&rows), index_(index) {}

  size_t size() const;
  bool IsNull(size_t column) const;
  // The value as the server sent it as text (numbers in decimal, dates as "YYYY-MM-DD ..."),
  // or nullopt for NULL.
  const std::optional<std::string>& Get(size_t column) const;

  // Each of these throws MysqlError for NULL or for a value of another shape.
  std::string String(size_t column) const;
  int64_t Int64(size_t column) const;
  uint64_t Uint64(size_t column) const;
  double Double(size_t column) const;
  // NULL is nullopt; anything else as above.
  std::optional<std::string> OptionalString(size_t column) const;
  std::optional<int64_t> OptionalInt64(size_t column) const;

 private:
  const std::string& NotNull(size_t column, const char* expected) const;
  [[noreturn]] void Unexpected(size_t column, const char* expected) const;

  const MysqlRows* rows_;
  size_t index_;
};

// A whole result set, copied out of the client library: column names and every value as text
// or NULL. Results are read in full; select in chunks (keyset + LIMIT) to bound the memory.
//   for (MysqlRow row : rows) Use(row.Int64(0), row.OptionalString(1));
class MysqlRows {
 public:
  MysqlRows() = default;
  // `sql` (placeholders only) names the statement in error messages.
  MysqlRows(std::vector<std::string> columns, std::string sql)
      : columns_(std::move(columns)), sql_(std::move(sql)) {}

  // Appends one row; `values` must have one entry per column.
  void Add(std::vector<std::optional<std::string>> values);

  const std::vector<std::string>& columns() const { return columns_; }
  // What each column holds (kText for all when the result did not say).
  MysqlColumnKind kind(size_t column) const {
    return column < kinds_.size() ? kinds_[column] : MysqlColumnKind::kText;
  }
  void set_kinds(std::vector<MysqlColumnKind> kinds) { kinds_ = std::move(kinds); }
  // The index of the column called `name`; throws MysqlError if there is none.
  size_t ColumnIndex(std::string_view name) const;
  size_t size() const { return columns_.empty() ? 0 : cells_.size() / columns_.size(); }
  bool empty() const { return cells_.empty(); }
  MysqlRow operator[](size_t index) const { return MysqlRow(*this, index); }
  const std::string& sql() const { return sql_; }

  class Iterator {
   public:
    Iterator(const MysqlRows* rows, size_t index) : rows_(rows), index_(index) {}
    MysqlRow operator*() const { return MysqlRow(*rows_, index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator==(const Iterator& other) const = default;

   private:
    const MysqlRows* rows_;
    size_t index_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  friend class MysqlRow;

  std::vector<std::string> columns_;
  std::vector<MysqlColumnKind> kinds_;
  std::vector<std::optional<std::string>> cells_;  // row-major
  std::string sql_;
};

}  // namespace warden
