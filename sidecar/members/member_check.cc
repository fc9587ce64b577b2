#include "members/member_check.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "base/duration.h"
#include "base/errors.h"
#include "base/progress_printer.h"
#include "storage/mysql/load_throttle.h"
#include "storage/mysql/mysql_transaction.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

namespace {

constexpr int64_t kSampleRows = 2000;
constexpr int kSamples = 3;
constexpr const char* kSampleTable = "warden_members_check_sample";

std::string Fmt(int64_t n) { return ProgressPrinter::Thousands(n); }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Whether SQL text names `table` as a word (a trigger's body: plain, `quoted` or db.table).
bool Mentions(const std::string& sql, const std::string& table) {
  const std::string text = Lower(sql);
  const std::string name = Lower(table);
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    const bool before = at == 0 || !word(text[at - 1]);
    const bool after = at + name.size() >= text.size() || !word(text[at + name.size()]);
    if (before && after) return true;
  }
  return false;
}

}  // namespace

std::vector<MemberCheck::ForeignKey> MemberCheck::ForeignKeysTo(MysqlConnection& conn,
                                                                const std::string& table) {
  MysqlRows rows = conn.Prepare(
                           "SELECT CONSTRAINT_NAME, TABLE_NAME, DELETE_RULE FROM "
                           "information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = "
                           "DATABASE() AND UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND "
                           "REFERENCED_TABLE_NAME = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME")
                       .Query({table});
  std::vector<ForeignKey> out;
  for (MysqlRow row : rows) out.push_back({row.String(0), row.String(1), row.String(2)});
  return out;
}

std::string MemberCheck::ForeignKeyMessage(const MembersSettings& s, const ForeignKey& fk) {
  std::string what;
  if (fk.delete_rule == "CASCADE") {
    what = "deleting a member deletes its rows in " + fk.table +
           ": a migration would delete them, and restore would not bring them back";
  } else if (fk.delete_rule == "SET NULL" || fk.delete_rule == "SET DEFAULT") {
    what = "deleting a member " + Lower(fk.delete_rule) + "s its rows' reference in " + fk.table +
           ": a migration would cut them loose from the member";
  } else {
    what = "deleting a member who has rows in " + fk.table +
           " fails: the migration would stop at the first one";
  }
  return "foreign key " + fk.name + " of " + fk.table + " references " + s.table + " (ON DELETE " +
         fk.delete_rule + "): " + what +
         "; archive such members with their rows, or drop the foreign key first";
}

void MemberCheck::RequireNoForeignKeys(MysqlConnection& conn, const MemberSchema& schema) {
  const std::vector<ForeignKey> fks = ForeignKeysTo(conn, schema.settings().table);
  if (!fks.empty()) throw UsageError(ForeignKeyMessage(schema.settings(), fks.front()));
}

std::vector<MemberCheck::Finding> MemberCheck::Run() {
  schema_ = MemberSchema::Read(conn_, settings_);
  std::vector<Finding> out;
  for (std::string& p : schema_->Problems()) {
    const std::string topic = p.rfind("no index on ", 0) == 0                     ? "index"
                              : p.find("has the unique key") != std::string::npos ? "archive_keys"
                                                                                  : "table";
    out.push_back({"problem", topic, std::move(p)});
  }
  if (!schema_->source().exists) return out;
  if (!schema_->archive().exists) {
    out.push_back({"info", "archive_keys",
                   settings_.archive_table + " does not exist: the first migration creates it " +
                       "like " + settings_.table + ", its unique keys other than the primary " +
                       "key made plain indexes"});
  }
  for (const ForeignKey& fk : ForeignKeysTo(conn_, settings_.table)) {
    out.push_back({"problem", "foreign_key", ForeignKeyMessage(settings_, fk)});
  }
  Triggers(out);
  Binlog(out);
  Replicas(out);
  if (std::none_of(out.begin(), out.end(),
                   [](const Finding& f) { return f.kind == "problem" && f.topic == "table"; })) {
    Estimate(out);
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    auto rank = [](const std::string& kind) {
      return kind == "problem" ? 0 : kind == "risk" ? 1 : 2;
    };
    return rank(a.kind) < rank(b.kind);
  });
  return out;
}

void MemberCheck::Triggers(std::vector<Finding>& out) {
  MysqlRows rows = conn_.Query(
      "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, "
      "ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
      "ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME");
  for (MysqlRow row : rows) {
    const std::string name = row.String(0);
    const std::string on = row.String(1) + " " + row.String(2) + " ON " + row.String(3);
    const std::string table = row.String(3);
    const std::string event = row.String(2);
    if (SameIdentifier(table, settings_.table) && event == "DELETE") {
      out.push_back({"risk", "trigger",
                     "trigger " + name + " (" + on + ") runs for every member moved: its " +
                         "statements run inside each chunk's transaction and lengthen it, and " +
                         "whatever it does to a deleted member it does to an archived one"});
    } else if (SameIdentifier(table, settings_.archive_table) && event == "INSERT") {
      out.push_back({"risk", "trigger",
                     "trigger " + name + " (" + on + ") runs for every member moved: its " +
                         "statements run inside each chunk's transaction and lengthen it"});
    } else if (!SameIdentifier(table, settings_.table) &&
               Mentions(row.String(4), settings_.table)) {
      out.push_back({"risk", "trigger",
                     "trigger " + name + " (" + on + ") refers to " + settings_.table +
                         ": its statements wait for a chunk's row locks, and may not find a " +
                         "member the migration moved"});
    }
  }
}

void MemberCheck::Binlog(std::vector<Finding>& out) {
  MysqlRows rows = conn_.Query("SELECT @@log_bin, @@binlog_format");
  const bool log_bin = rows[0].Int64(0) != 0;
  const std::string format = rows[0].String(1);
  if (!log_bin) {
    out.push_back({"info", "binlog", "binary log off: no replica follows this server's writes"});
  } else if (format == "STATEMENT") {
    out.push_back({"problem", "binlog",
                   "binlog_format=STATEMENT: the chunks run in READ COMMITTED, which InnoDB "
                   "logs only row by row, so the first chunk fails (error 1665); set "
                   "binlog_format=MIXED (MariaDB's default) or ROW"});
  } else {
    out.push_back({"info", "binlog",
                   "binary log on, binlog_format=" + format +
                       ": each chunk reaches the replicas as one transaction of row events"});
  }
  if (!log_bin || !settings_.replicas.empty()) return;
  // Replicas attached to this server that nobody watches: the chunks can run ahead of them.
  try {
    MysqlRows hosts = conn_.Query("SHOW SLAVE HOSTS");
    if (!hosts.empty()) {
      std::string list;
      for (MysqlRow row : hosts) {
        const std::string host = row.OptionalString(1).value_or("");
        list += (list.empty() ? "" : ", ") +
                (host.empty() ? "server " + row.String(0) : host + ":" + row.String(2));
      }
      out.push_back({"risk", "replica",
                     Fmt(static_cast<int64_t>(hosts.size())) + " replica(s) replicate from " +
                         "this server (" + list + ") and none is watched: set replicas and " +
                         "replica_lag in [members] (or --replica and --max-replica-lag) so " +
                         "the migration waits for them"});
    }
  } catch (const MysqlError&) {
    // Not allowed to list them (REPLICATION MASTER ADMIN): nothing to say.
  }
}

void MemberCheck::Replicas(std::vector<Finding>& out) {
  if (settings_.replicas.empty()) return;
  LoadThrottle throttle(conn_, settings_.throttle, settings_.replicas, nullptr, nullptr, clock_);
  const int64_t limit_ms = settings_.throttle.replica_lag_ms;
  for (size_t i = 0; i < throttle.replica_count(); ++i) {
    const std::string name = "replica " + settings_.replicas[i].Endpoint();
    std::string why;
    const std::optional<int64_t> lag = throttle.ReplicaLag(i, &why);
    if (!lag) {
      out.push_back({"risk", "replica",
                     name + " " + why + ": the migration would wait for it from the start"});
    } else if (limit_ms > 0 && *lag * 1000 > limit_ms) {
      out.push_back({"risk", "replica",
                     name + " lags " + std::to_string(*lag) + "s, over the limit of " +
                         FormatDuration(limit_ms) +
                         ": the migration would wait until it is below"});
    } else {
      out.push_back({"info", "replica", name + " lags " + std::to_string(*lag) + "s"});
    }
  }
  if (limit_ms <= 0) {
    out.push_back({"risk", "replica",
                   "replicas are set but no replica_lag limit: the migration would not wait "
                   "for them"});
  }
}

void MemberCheck::Estimate(std::vector<Finding>& out) {
  const MembersSettings& s = settings_;
  const std::string member = QuoteIdentifier(s.table);
  const std::string id = QuoteIdentifier(s.id_column);
  const std::string login = QuoteIdentifier(s.last_login_column);
  const int64_t cutoff = (clock_() - inactive_for_ms_) / 1000;
  MysqlRows counts = conn_
                         .Prepare("SELECT COUNT(*), MIN(" + id + "), MAX(" + id + ") FROM " +
                                  member + " WHERE " + login + " < ?")
                         .Query({cutoff});
  const int64_t inactive = counts[0].Int64(0);
  if (inactive == 0) {
    estimate_ = {{"inactive", 0}, {"seconds", 0}};
    out.push_back({"info", "estimate",
                   "nothing to move: no member inactive for " + FormatDuration(inactive_for_ms_)});
    return;
  }
  RedoLog(inactive, out);
  const int64_t first = counts[0].Int64(1);
  const int64_t last = counts[0].Int64(2);
  // A chunk, as the migration runs one, into a temporary table shaped like member (the same
  // indexes), then deleted there: the copy and the DELETE, without a lock on member or a
  // change to it. At the start, the middle and three quarters of the inactive ids.
  const std::string sample = QuoteIdentifier(kSampleTable);
  try {
    conn_.Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    conn_.Execute("DROP TEMPORARY TABLE IF EXISTS " + sample);
    conn_.Execute("CREATE TEMPORARY TABLE " + sample + " LIKE " + member);
    MysqlStatement copy = conn_.Prepare("INSERT INTO " + sample + " SELECT * FROM " + member +
                                        " FORCE INDEX (PRIMARY) WHERE " + id + " > ? AND " + login +
                                        " < ? ORDER BY " + id + " LIMIT ?");
    double ms = 0;
    int64_t rows = 0;
    for (int i = 0; i < kSamples; ++i) {
      const int64_t from =
          first - 1 + static_cast<int64_t>(static_cast<double>(last - first) * i / (kSamples + 1));
      const auto start = std::chrono::steady_clock::now();
      MysqlTransaction tx(conn_);
      rows += static_cast<int64_t>(copy.Execute({from, cutoff, kSampleRows}).affected_rows);
      conn_.Execute("DELETE FROM " + sample);
      tx.Commit();
      ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
    }
    conn_.Execute("DROP TEMPORARY TABLE IF EXISTS " + sample);
    if (rows == 0) return;
    const double ms_per_row = ms / static_cast<double>(rows);
    double seconds = ms_per_row * static_cast<double>(inactive) / 1000.0;
    std::string pauses;
    if (s.throttle.sleep_ms > 0 && s.chunk_time_ms > 0) {
      const double chunks = std::ceil(ms_per_row * static_cast<double>(inactive) /
                                      static_cast<double>(s.chunk_time_ms));
      seconds += chunks * static_cast<double>(s.throttle.sleep_ms) / 1000.0;
      pauses = ", with throttle sleep=" + FormatDuration(s.throttle.sleep_ms) + " per chunk";
    }
    estimate_ = {{"inactive", inactive},
                 {"sample_rows", rows},
                 {"sample_ms", std::round(ms * 10) / 10},
                 {"ms_per_row", ms_per_row},
                 {"seconds", std::round(seconds * 10) / 10}};
    char pace[32];
    std::snprintf(pace, sizeof pace, "%.4f", ms_per_row);
    out.push_back({"info", "estimate",
                   "about " + FormatDuration(static_cast<int64_t>(std::ceil(seconds)) * 1000) +
                       " to move " + Fmt(inactive) + " members inactive for " +
                       FormatDuration(inactive_for_ms_) + pauses + " (" + std::to_string(kSamples) +
                       " sample chunks of " + Fmt(rows / kSamples) +
                       " rows, copied and deleted in a temporary table: " + pace +
                       " ms a row); waits for a busy server or lagging replicas come on top"});
  } catch (const MysqlError& e) {
    out.push_back({"info", "estimate", std::string("no estimate: ") + e.what()});
  }
}

void MemberCheck::RedoLog(int64_t inactive, std::vector<Finding>& out) {
  // The rows to move with their index entries, from the table's statistics; each is written to
  // the redo log several times over (the copy and its indexes, the delete mark, the undo).
  MysqlRows table = conn_
                        .Prepare(
                            "SELECT DATA_LENGTH + INDEX_LENGTH, TABLE_ROWS FROM "
                            "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                            "TABLE_NAME = ?")
                        .Query({settings_.table});
  MysqlRows status =
      conn_.Query("SHOW GLOBAL STATUS WHERE Variable_name = 'Innodb_checkpoint_max_age'");
  if (table.empty() || status.empty()) return;  // not InnoDB, or MySQL
  const int64_t bytes = table[0].OptionalInt64(0).value_or(0);
  const int64_t rows = std::max<int64_t>(table[0].OptionalInt64(1).value_or(0), 1);
  const int64_t log = status[0].OptionalInt64(1).value_or(0);
  if (bytes <= 0 || log <= 0) return;
  const int64_t moved = static_cast<int64_t>(static_cast<double>(bytes) / rows * inactive);
  const int64_t io_capacity = conn_.Query("SELECT @@innodb_io_capacity")[0].Int64(0);
  auto mb = [](int64_t b) { return Fmt((b + (1 << 19)) >> 20) + " MB"; };
  const int64_t pct = settings_.throttle.checkpoint_age_pct;
  const std::string what = "the move copies and deletes about " + mb(moved) +
                           " of rows and index entries; the redo log holds " + mb(log) +
                           " (Innodb_checkpoint_max_age)";
  if (moved * 4 < log || pct <= 0) {
    out.push_back({"info", "redo_log", what});
    return;
  }
  out.push_back({"risk", "redo_log",
                 what + ": the run will wait for InnoDB to flush (throttle checkpoint_age=" +
                     std::to_string(pct) +
                     "%), as fast as innodb_io_capacity=" + std::to_string(io_capacity) +
                     " allows; a larger innodb_log_file_size or innodb_io_capacity lets it go "
                     "faster, checkpoint_age=0 makes the site's writes wait instead"});
}

}  // namespace warden
