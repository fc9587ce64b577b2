#include "members/member_restorer.h"

#include "base/errors.h"
#include "members/member_schema.h"
#include "storage/mysql/mysql_transaction.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

MemberRestorer::Result MemberRestorer::Restore(std::optional<int64_t> id,
                                               std::optional<std::string> email, bool touch,
                                               std::optional<std::string> rename) {
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
  std::string values;  // what goes back: the archived columns, the email replaced by --rename
  for (const std::string& c : schema.CopyColumns()) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(c);
    values += (values.empty() ? "" : ", ") +
              (rename && SameIdentifier(c, s.email_column) ? std::string("?") : QuoteIdentifier(c));
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
    return {active[0].Int64(0), "active", std::nullopt};
  }
  const int64_t member_id = archived[0].Int64(0);
  const std::string email_col = QuoteIdentifier(s.email_column);

  // The archive's email is not unique (docs/members.md): a new member may have taken it, or
  // another value of one of member's unique keys, since. Say who, rather than fail on the
  // INSERT's duplicate key.
  for (const TableShape::Index& key : schema.SourceUniqueKeys()) {
    std::string on;
    bool has_email = false;
    std::vector<MysqlValue> binds;
    for (const std::string& c : key.columns) {
      const bool is_email = SameIdentifier(c, s.email_column);
      has_email = has_email || is_email;
      on += std::string(on.empty() ? "" : " AND ") + "m." + QuoteIdentifier(c) + " = " +
            (is_email && rename ? std::string("?") : "a." + QuoteIdentifier(c));
      if (is_email && rename) binds.push_back(*rename);
    }
    binds.push_back(member_id);
    MysqlStatement lookup =
        conn_.Prepare("SELECT m." + id_col + ", a." + email_col + " FROM " + archive + " a JOIN " +
                      member + " m ON " + on + " WHERE a." + id_col + " = ? LIMIT 1");
    for (MysqlValue& v : binds) lookup.Bind(std::move(v));
    MysqlRows taken = lookup.Query();
    if (taken.empty()) continue;
    const std::string other = std::to_string(taken[0].Int64(0));
    const std::string head = "member " + std::to_string(member_id) + " cannot be restored: ";
    if (has_email && rename) {
      throw Error(head + "the email " + *rename + " given to --rename belongs to member " + other,
                  kExitFailure);
    }
    if (has_email) {
      throw Error(head + "its email " + taken[0].OptionalString(1).value_or("") +
                      " belongs to member " + other + " now (unique key " + key.name + " of " +
                      s.table + "); restore it under another email with --rename EMAIL, or " +
                      "leave it archived",
                  kExitFailure);
    }
    throw Error(head + "member " + other + " has the same value of the unique key " + key.name +
                    " of " + s.table,
                kExitFailure);
  }
  try {
    MysqlStatement insert =
        conn_.Prepare("INSERT INTO " + member + " (" + columns + ") SELECT " + values + " FROM " +
                      archive + " WHERE " + id_col + " = ?");
    if (rename) insert.Bind(*rename);
    insert.Bind(member_id).Execute();
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
  return {member_id, "restored", rename};
}

}  // namespace warden
