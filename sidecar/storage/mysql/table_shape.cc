#include "storage/mysql/table_shape.h"

#include <cctype>

namespace warden {

bool SameIdentifier(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

TableShape TableShape::Read(MysqlConnection& conn, const std::string& table) {
  TableShape shape;
  shape.name = table;
  MysqlRows info = conn.Prepare(
                           "SELECT ENGINE, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?")
                       .Query({table});
  if (info.empty()) return shape;
  shape.exists = true;
  shape.engine = info[0].OptionalString(0).value_or("");
  shape.estimated_rows = info[0].Int64(1);

  MysqlRows columns =
      conn.Prepare(
              "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE "
              "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? "
              "ORDER BY ORDINAL_POSITION")
          .Query({table});
  for (MysqlRow row : columns) {
    shape.columns.push_back({row.String(0), row.String(1), row.String(2), row.String(3) == "YES"});
  }

  MysqlRows stats =
      conn.Prepare(
              "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS "
              "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? "
              "ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX")
          .Query({table});
  for (MysqlRow row : stats) {
    const std::string index = row.String(0);
    if (shape.indexes.empty() || shape.indexes.back().name != index) {
      shape.indexes.push_back({index, row.Int64(1) == 0, {}, {}});
    }
    shape.indexes.back().columns.push_back(row.String(2));
    shape.indexes.back().prefixes.push_back(row.OptionalInt64(3).value_or(0));
  }
  if (!shape.indexes.empty() && shape.indexes.front().name == "PRIMARY") {
    shape.primary_key = shape.indexes.front().columns;
  }
  return shape;
}

const TableShape::Column* TableShape::FindColumn(std::string_view column) const {
  for (const Column& c : columns) {
    if (SameIdentifier(c.name, column)) return &c;
  }
  return nullptr;
}

const TableShape::Index* TableShape::IndexLeadingWith(std::string_view column) const {
  for (const Index& index : indexes) {
    if (!index.columns.empty() && SameIdentifier(index.columns.front(), column)) return &index;
  }
  return nullptr;
}

bool TableShape::IsIntegerType(std::string_view data_type) {
  return data_type == "tinyint" || data_type == "smallint" || data_type == "mediumint" ||
         data_type == "int" || data_type == "bigint";
}

}  // namespace warden
