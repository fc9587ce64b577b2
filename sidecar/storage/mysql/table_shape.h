#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/mysql/mysql_connection.h"

namespace warden {

// What information_schema says about one table of the current database: its columns in
// order, its primary key and its indexes. Names compare case-insensitively, as MariaDB does.
struct TableShape {
  struct Column {
    std::string name;
    std::string data_type;    // "bigint", "varchar", ...
    std::string column_type;  // "bigint(20) unsigned", ...
    bool nullable = false;
  };
  struct Index {
    std::string name;
    bool unique = false;
    std::vector<std::string> columns;  // in index order
    std::vector<int64_t> prefixes;     // per column: its indexed prefix length, 0 for all of it
  };

  std::string name;
  bool exists = false;
  std::string engine;
  int64_t estimated_rows = 0;  // information_schema's estimate
  std::vector<Column> columns;
  std::vector<std::string> primary_key;
  std::vector<Index> indexes;  // the primary key included, as "PRIMARY"

  // Reads the table's shape (exists == false if there is no such table).
  static TableShape Read(MysqlConnection& conn, const std::string& table);

  const Column* FindColumn(std::string_view column) const;
  // The first index whose leading column is `column`, if any.
  const Index* IndexLeadingWith(std::string_view column) const;
  // True for the integer types (tinyint ... bigint).
  static bool IsIntegerType(std::string_view data_type);
};

bool SameIdentifier(std::string_view a, std::string_view b);

}  // namespace warden
