#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "members/member_schema.h"
#include "members/members_config.h"
#include "storage/mysql/mysql_connection.h"

namespace warden {

// `warden members check`: every risk to a migration that can be seen before it runs
// (docs/members.md). Reads only: the sample chunk is copied into a temporary table.
//   problem  the migration would stop, or do harm: a missing table or column, no index on
//            last_login_time, a unique key in the archive, a foreign key to member,
//            binlog_format=STATEMENT
//   risk     it would run, but slower or with more impact than planned: triggers, replicas
//            that lag, stop, or are not watched
//   info     the binary log, each replica's lag, the estimated run time
class MemberCheck {
 public:
  struct Finding {
    std::string kind;   // "problem", "risk", "info"
    std::string topic;  // "table", "index", "archive_keys", "foreign_key", "trigger", "binlog",
                        // "replica", "estimate"
    std::string message;
    nlohmann::json ToJson() const {
      return {{"kind", kind}, {"topic", topic}, {"message", message}};
    }
  };
  struct ForeignKey {
    std::string name;
    std::string table;  // the child table
    std::string delete_rule;
  };

  MemberCheck(MysqlConnection& conn, MembersSettings settings, int64_t inactive_for_ms,
              Clock clock = SystemNowMs)
      : conn_(conn),
        settings_(std::move(settings)),
        inactive_for_ms_(inactive_for_ms),
        clock_(std::move(clock)) {}

  // Everything, problems first; also fills estimate().
  std::vector<Finding> Run();
  // The sampled estimate: inactive members, ms per row, seconds; null without one.
  const nlohmann::json& estimate() const { return estimate_; }
  const MemberSchema& schema() const { return *schema_; }

  // The foreign keys of other tables (or of member itself) that reference `table`.
  static std::vector<ForeignKey> ForeignKeysTo(MysqlConnection& conn, const std::string& table);
  // UsageError when a foreign key references member: a migration's DELETE would cascade to
  // its rows, set them NULL, or fail at the first member who has any.
  static void RequireNoForeignKeys(MysqlConnection& conn, const MemberSchema& schema);
  static std::string ForeignKeyMessage(const MembersSettings& s, const ForeignKey& fk);

 private:
  void Triggers(std::vector<Finding>& out);
  void Binlog(std::vector<Finding>& out);
  void Replicas(std::vector<Finding>& out);
  void Estimate(std::vector<Finding>& out);
  // The redo log against what the move writes (a risk when it cannot hold it).
  void RedoLog(int64_t inactive, std::vector<Finding>& out);

  MysqlConnection& conn_;
  MembersSettings settings_;
  int64_t inactive_for_ms_;
  Clock clock_;
  std::optional<MemberSchema> schema_;
  nlohmann::json estimate_;
};

}  // namespace warden
