#include "members/member_restorer.h"

#include "base/errors.h"
#include "members/member_schema.h"
#include "storage/mysql/mysql_transaction.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

MemberRestorer::Result MemberRestorer::Restore(std::optional<int64_t> id,
                                               std::optional<std::string> email, bool touch) {
  MemberSchema schema = MemberSchema::Read(conn_, settings_);
  schema.RequireSource();
  if (!schema.archive().exists) {
    throw UsageError("table " + settings_.archive_table + " does not exist in database " +
                     schema.database() + " (set archive_table in [members])");
  }
  schema.RequireArchive();

  const MembersSettings& s = settings_;
  const std::string member = QuoteIdentifier(s.table);
  const std::string archive = QuoteIdentifier(s.archive_table);
  const std::string id_col = QuoteIdentifier(s.id_column);
  std::string columns;
  for (const std::string& c : schema.CopyColumns()) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(c);
  }
  const std::string who = id ? "id " + std::to_string(*id) : "email " + *email;
  const std::string by = id ? id_col : QuoteIdentifier(s.email_column);
  const MysqlValue key = id ? MysqlValue(*id) : MysqlValue(*email);

  MysqlTransaction tx(conn_);
  MysqlRows archived = conn_
                           .Prepare("SELECT " + id_col + " FROM " + archive + " WHERE " + by +
                                    " = ? LIMIT 2 FOR UPDATE")
                           .Query({key});
  if (archived.size() > 1) {
    throw Error("more than one archived member has " + who + ": restore by id", kExitFailure);
  }
  if (archived.empty()) {
    MysqlRows active =
        conn_.Prepare("SELECT " + id_col + " FROM " + member + " WHERE " + by + " = ? LIMIT 1")
            .Query({key});
    if (active.empty()) {
      throw Error("no member with " + who + " in " + s.table + " or " + s.archive_table,
                  kExitFailure);
    }
    return {active[0].Int64(0), "active"};
  }
  const int64_t member_id = archived[0].Int64(0);
  try {
    conn_
        .Prepare("INSERT INTO " + member + " (" + columns + ") SELECT " + columns + " FROM " +
                 archive + " WHERE " + id_col + " = ?")
        .Execute({member_id});
  } catch (const MysqlDuplicateKeyError& e) {
    throw Error("member " + std::to_string(member_id) + " cannot go back to " + s.table +
                    ": a row there has the same id or unique key (" + e.what() + ")",
                kExitFailure);
  }
  if (touch) {
    conn_
        .Prepare("UPDATE " + member + " SET " + QuoteIdentifier(s.last_login_column) +
                 " = ? WHERE " + id_col + " = ?")
        .Execute({clock_() / 1000, member_id});
  }
  conn_.Prepare("DELETE FROM " + archive + " WHERE " + id_col + " = ?").Execute({member_id});
  tx.Commit();
  return {member_id, "restored"};
}

}  // namespace warden
