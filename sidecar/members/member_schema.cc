#include "members/member_schema.h"

#include "base/errors.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

namespace {

std::vector<TableShape::Index> UniqueKeys(const TableShape& table) {
  std::vector<TableShape::Index> out;
  for (const TableShape::Index& index : table.indexes) {
    if (index.unique && index.name != "PRIMARY") out.push_back(index);
  }
  return out;
}

// "`email`" or "`email`(100), `name`": an index's column list as CREATE INDEX takes it.
std::string IndexColumns(const TableShape::Index& index) {
  std::string out;
  for (size_t i = 0; i < index.columns.size(); ++i) {
    out += (i == 0 ? "" : ", ") + QuoteIdentifier(index.columns[i]);
    if (i < index.prefixes.size() && index.prefixes[i] > 0) {
      out += "(" + std::to_string(index.prefixes[i]) + ")";
    }
  }
  return out;
}

// "DROP INDEX `k`, ADD INDEX `k` (...)" for each key: the same index, not unique.
std::string PlainIndexClauses(const std::vector<TableShape::Index>& keys) {
  std::string out;
  for (const TableShape::Index& key : keys) {
    out += ", DROP INDEX " + QuoteIdentifier(key.name) + ", ADD INDEX " +
           QuoteIdentifier(key.name) + " (" + IndexColumns(key) + ")";
  }
  return out;
}

std::string KeyNames(const std::vector<TableShape::Index>& keys) {
  std::string out;
  for (const TableShape::Index& key : keys) {
    std::string columns;
    for (const std::string& c : key.columns) columns += (columns.empty() ? "" : ", ") + c;
    out += (out.empty() ? "" : ", ") + key.name + " (" + columns + ")";
  }
  return out;
}

}  // namespace

MemberSchema MemberSchema::Read(MysqlConnection& conn, const MembersSettings& settings) {
  MemberSchema schema;
  schema.settings_ = settings;
  schema.database_ = conn.Query("SELECT DATABASE()")[0].OptionalString(0).value_or("");
  schema.source_ = TableShape::Read(conn, settings.table);
  schema.archive_ = TableShape::Read(conn, settings.archive_table);
  return schema;
}

std::vector<std::string> MemberSchema::SourceProblems() const {
  const MembersSettings& s = settings_;
  std::vector<std::string> out;
  if (!source_.exists) {
    out.push_back("table " + s.table + " does not exist in database " + database_ +
                  " (set table in [members])");
    return out;
  }
  for (const std::string* column : {&s.id_column, &s.last_login_column, &s.email_column}) {
    if (source_.FindColumn(*column) == nullptr) {
      out.push_back("table " + s.table + " has no column " + *column +
                    " (set the column names in [members])");
    }
  }
  if (!out.empty()) return out;
  if (source_.primary_key.size() != 1 || !SameIdentifier(source_.primary_key[0], s.id_column)) {
    out.push_back("the primary key of " + s.table + " is not " + s.id_column +
                  " alone: migration walks the primary key");
  }
  if (!TableShape::IsIntegerType(source_.FindColumn(s.id_column)->data_type)) {
    out.push_back(s.table + "." + s.id_column + " is " +
                  source_.FindColumn(s.id_column)->column_type + ", expected an integer");
  }
  if (!TableShape::IsIntegerType(source_.FindColumn(s.last_login_column)->data_type)) {
    out.push_back(s.table + "." + s.last_login_column + " is " +
                  source_.FindColumn(s.last_login_column)->column_type +
                  ", expected an integer (unix seconds)");
  }
  if (source_.engine != "InnoDB") {
    out.push_back(s.table + " uses " + source_.engine +
                  ", not InnoDB: chunks would not be transactions");
  }
  return out;
}

std::vector<std::string> MemberSchema::ArchiveProblems() const {
  const MembersSettings& s = settings_;
  std::vector<std::string> out;
  if (!archive_.exists || !source_.exists) return out;
  std::string missing;
  for (const TableShape::Column& c : source_.columns) {
    if (archive_.FindColumn(c.name) == nullptr) missing += (missing.empty() ? "" : ", ") + c.name;
  }
  if (archive_.FindColumn(s.moved_at_column) == nullptr) {
    missing += (missing.empty() ? "" : ", ") + s.moved_at_column;
  }
  if (!missing.empty()) {
    out.push_back("table " + s.archive_table + " lacks the column(s) " + missing + " of " +
                  s.table + " (plus " + s.moved_at_column + ")");
  }
  if (archive_.primary_key.size() != 1 || !SameIdentifier(archive_.primary_key[0], s.id_column)) {
    out.push_back("the primary key of " + s.archive_table + " is not " + s.id_column +
                  " alone: without it a member could be archived twice");
  }
  if (archive_.engine != "InnoDB") {
    out.push_back(s.archive_table + " uses " + archive_.engine + ", not InnoDB");
  }
  return out;
}

void MemberSchema::RequireSource() const {
  auto problems = SourceProblems();
  if (!problems.empty()) throw UsageError(problems.front());
}

void MemberSchema::RequireArchive() const {
  auto problems = ArchiveProblems();
  if (!problems.empty()) throw UsageError(problems.front());
}

std::vector<TableShape::Index> MemberSchema::ArchiveUniqueKeys() const {
  return archive_.exists ? UniqueKeys(archive_) : std::vector<TableShape::Index>();
}

std::vector<TableShape::Index> MemberSchema::SourceUniqueKeys() const {
  return source_.exists ? UniqueKeys(source_) : std::vector<TableShape::Index>();
}

std::string MemberSchema::ArchiveKeysSql() const {
  const std::vector<TableShape::Index> keys = ArchiveUniqueKeys();
  if (keys.empty()) return "";
  // Dropping and adding an index of the same name in one ALTER is allowed, and in place.
  return "ALTER TABLE " + QuoteIdentifier(settings_.archive_table) +
         PlainIndexClauses(keys).substr(1) + ", ALGORITHM=INPLACE, LOCK=NONE;";
}

void MemberSchema::RequireArchiveKeys() const {
  const std::vector<TableShape::Index> keys = ArchiveUniqueKeys();
  if (keys.empty()) return;
  throw UsageError("table " + settings_.archive_table + " has the unique key(s) " + KeyNames(keys) +
                   " (copied from " + settings_.table +
                   " by an older warden): a value archived once, taken by a new member who "
                   "goes inactive too, would stop the migration with a duplicate key; make "
                   "them plain indexes with --fix-archive-keys, or run: " +
                   ArchiveKeysSql());
}

std::vector<std::string> MemberSchema::Problems() const {
  std::vector<std::string> out = SourceProblems();
  if (!source_.exists) return out;
  if (source_.FindColumn(settings_.last_login_column) != nullptr && LoginIndex().empty()) {
    out.push_back("no index on " + settings_.table + "." + settings_.last_login_column +
                  ": counting and finding inactive members reads the whole table; add one with: " +
                  AddLoginIndexSql());
  }
  for (std::string& p : ArchiveProblems()) out.push_back(std::move(p));
  const std::vector<TableShape::Index> keys = ArchiveUniqueKeys();
  if (!keys.empty()) {
    out.push_back(
        "the archive " + settings_.archive_table + " has the unique key(s) " + KeyNames(keys) +
        ": an email archived once can be archived again (a new " +
        "member took it and went inactive too), and the migration stops on it; " +
        "warden members migrate --fix-archive-keys makes them plain indexes: " + ArchiveKeysSql());
  }
  return out;
}

std::vector<std::string> MemberSchema::CreateArchiveSql() const {
  const MembersSettings& s = settings_;
  return {"CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(s.archive_table) + " LIKE " +
              QuoteIdentifier(s.table),
          "ALTER TABLE " + QuoteIdentifier(s.archive_table) + " ADD COLUMN " +
              QuoteIdentifier(s.moved_at_column) +
              " DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, ADD INDEX " +
              QuoteIdentifier(("idx_" + s.moved_at_column).substr(0, 64)) + " (" +
              QuoteIdentifier(s.moved_at_column) + ")" + PlainIndexClauses(SourceUniqueKeys())};
}

std::string MemberSchema::AddLoginIndexSql() const {
  const MembersSettings& s = settings_;
  const std::string index = ("idx_" + s.last_login_column).substr(0, 64);
  return "ALTER TABLE " + QuoteIdentifier(s.table) + " ADD INDEX " + QuoteIdentifier(index) + " (" +
         QuoteIdentifier(s.last_login_column) + "), ALGORITHM=INPLACE, LOCK=NONE;";
}

std::string MemberSchema::LoginIndex() const {
  const TableShape::Index* index = source_.IndexLeadingWith(settings_.last_login_column);
  return index != nullptr ? index->name : "";
}

std::vector<std::string> MemberSchema::CopyColumns() const {
  std::vector<std::string> out;
  for (const TableShape::Column& c : source_.columns) out.push_back(c.name);
  return out;
}

}  // namespace warden
