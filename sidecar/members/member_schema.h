#pragma once

#include <string>
#include <vector>

#include "members/members_config.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/table_shape.h"

namespace warden {

// The member table and its archive as they are in the database, checked against [members].
//   member:             id (integer primary key), last_login_time (integer, indexed), ...
//   unconnected_member: every column of member, plus moved_at
class MemberSchema {
 public:
  static MemberSchema Read(MysqlConnection& conn, const MembersSettings& settings);

  // UsageError, one line, when the source table is unusable: missing, no such column, the id
  // not an integer single-column primary key, last_login_time not an integer.
  void RequireSource() const;
  // UsageError when the archive exists but lacks a column of the source or moved_at, or has
  // no primary key on the id. A missing archive is fine (it is created).
  void RequireArchive() const;
  // UsageError when the archive has a unique key besides the primary key (an archive made by
  // warden before 0.2.0 copied member's): an email archived once can be archived again once a
  // new member who took it goes inactive too, and the migration would stop on it mid-run.
  void RequireArchiveKeys() const;
  // Everything `warden members check` reports about the tables: one finding per line, empty
  // when all is well.
  std::vector<std::string> Problems() const;

  // The archive's unique keys other than the primary key.
  std::vector<TableShape::Index> ArchiveUniqueKeys() const;
  // The ALTER that makes them plain indexes (same names, same columns); "" when there are none.
  std::string ArchiveKeysSql() const;
  // member's unique keys other than the primary key: what a restore can collide with.
  std::vector<TableShape::Index> SourceUniqueKeys() const;

  // CREATE TABLE archive LIKE member, then one ALTER: + moved_at, and member's unique keys
  // other than the primary key as plain indexes (docs/members.md: emails in the archive).
  std::vector<std::string> CreateArchiveSql() const;
  // The exact ALTER that adds the missing index on last_login_time.
  std::string AddLoginIndexSql() const;
  // The name of the index that leads with last_login_time, or "" when there is none.
  std::string LoginIndex() const;

  const MembersSettings& settings() const { return settings_; }
  const TableShape& source() const { return source_; }
  const TableShape& archive() const { return archive_; }
  // The source's column names as the database spells them, in order: what is copied.
  std::vector<std::string> CopyColumns() const;
  const std::string& database() const { return database_; }

 private:
  std::vector<std::string> SourceProblems() const;
  std::vector<std::string> ArchiveProblems() const;

  MembersSettings settings_;
  std::string database_;
  TableShape source_;
  TableShape archive_;
};

}  // namespace warden
