#include "members/member_migrator.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "base/chunk_sizer.h"
#include "base/duration.h"
#include "base/errors.h"
#include "base/failpoint.h"
#include "base/time_format.h"
#include "members/impact_governor.h"
#include "members/member_check.h"
#include "storage/mysql/load_throttle.h"
#include "storage/mysql/mysql_transaction.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

namespace {

constexpr int kMaxConsecutiveRetries = 10;
constexpr int64_t kMinChunk = 10;

// "2024-05-01 12:00:00" in UTC, the session's time zone: how moved_at is bound.
std::string SqlDatetime(int64_t unix_ms) {
  std::string iso = FormatIsoUtc(unix_ms);  // 2024-05-01T12:00:00Z
  iso[10] = ' ';
  iso.pop_back();
  return iso;
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}

void Sleep(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

// "PID@HOST": the process that holds a run's lock, kept in the state table.
std::string ThisProcess() { return std::to_string(getpid()) + "@" + HostName(); }

// Whether the process "PID@HOST" runs; nullopt when it is on another host (or unreadable).
std::optional<bool> ProcessRuns(const std::string& process) {
  const size_t at = process.find('@');
  if (at == std::string::npos || at == 0 || process.substr(at + 1) != HostName()) {
    return std::nullopt;
  }
  long pid = 0;
  try {
    pid = std::stol(process.substr(0, at));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (pid <= 0) return std::nullopt;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Where the chunks' time goes, summed over a migration (the summary's phases_ms).
struct ChunkPhases {
  double copy = 0;      // INSERT ... SELECT ... FOR UPDATE
  double bound = 0;     // finding the last row of a chunk that reached its LIMIT
  double remove = 0;    // DELETE (and the checksum, with --verify)
  double progress = 0;  // the state table's UPDATE
  double commit = 0;

  void Add(const ChunkPhases& o) {
    copy += o.copy;
    bound += o.bound;
    remove += o.remove;
    progress += o.progress;
    commit += o.commit;
  }
  nlohmann::json ToJson() const {
    return {{"copy", std::round(copy)},
            {"bound", std::round(bound)},
            {"delete", std::round(remove)},
            {"progress", std::round(progress)},
            {"commit", std::round(commit)}};
  }
};

// Adds the time since the last lap (or since it was made) to one of the phases.
class PhaseTimer {
 public:
  explicit PhaseTimer(ChunkPhases& phases) : phases_(phases) {}
  void Lap(double ChunkPhases::*phase) {
    const auto now = std::chrono::steady_clock::now();
    phases_.*phase += std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
  }

 private:
  ChunkPhases& phases_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

nlohmann::json MigrateSummary::ToJson() const {
  nlohmann::json j = {{"run_id", run_id},
                      {"resumed", resumed},
                      {"cutoff", cutoff},
                      {"rows_moved", rows_moved},
                      {"run_rows_moved", run_rows_moved},
                      {"chunks", chunks},
                      {"elapsed_ms", elapsed_ms},
                      {"rows_per_s", std::round(rows_per_s())},
                      {"longest_chunk_ms", longest_chunk_ms},
                      {"paused_ms", paused_ms},
                      {"retries", retries},
                      {"fallbacks", fallbacks},
                      {"complete", complete}};
  if (!stopped.empty()) j["stopped"] = stopped;
  if (max_impact) {
    j["max_impact"] = {{"pressured_chunks", pressured_chunks}, {"rested_ms", rested_ms}};
  }
  if (verify) j["verify"] = *verify;
  if (!phases.is_null()) j["phases_ms"] = phases;
  return j;
}

// The state of one run, as kept in the state table.
struct MemberMigrator::Run {
  int64_t id = 0;
  int64_t cutoff = 0;
  std::string moved_at;            // bound into every archived row of the run
  std::optional<int64_t> last_id;  // the cursor: every inactive row up to it is moved
  int64_t rows_moved = 0;
  bool resumed = false;
  bool checksummed = true;
};

// The chunk's statements, prepared once per invocation.
struct MemberMigrator::Statements {
  MysqlStatement lock;    // the fallback's locking read
  MysqlStatement insert;  // copies up to LIMIT rows of a span, locking them
  MysqlStatement last;    // the last row a chunk copied
  MysqlStatement remove;
  MysqlStatement insert_one;
  MysqlStatement remove_one;
  MysqlStatement progress;
  std::optional<MysqlStatement> checksum;
};

MemberMigrator::MemberMigrator(MysqlConnection& conn, MembersSettings settings, EventSink events,
                               std::function<bool()> cancelled, Clock clock)
    : conn_(conn),
      settings_(std::move(settings)),
      events_(std::move(events)),
      cancelled_(std::move(cancelled)),
      clock_(std::move(clock)) {
  if (!events_) events_ = [](const nlohmann::json&) {};
  if (!cancelled_) cancelled_ = [] { return false; };
}

int64_t MemberMigrator::CutoffFor(int64_t inactive_for_ms) const {
  return (clock_() - inactive_for_ms) / 1000;
}

void MemberMigrator::Prepare() {
  ConfigureSession(conn_);
  schema_ = MemberSchema::Read(conn_, settings_);
  schema_->RequireSource();
  schema_->RequireArchive();
}

void MemberMigrator::ConfigureSession(MysqlConnection& conn) {
  // READ COMMITTED: a locking read locks only the rows that match (no gap locks, and the rows
  // of active members it passes are released at once), so logins are never blocked by more
  // than the chunk's own inactive rows.
  conn.Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  conn.Execute("SET SESSION innodb_lock_wait_timeout = 5");
  conn.Execute("SET SESSION time_zone = '+00:00'");
}

void MemberMigrator::EnsureTables(bool create) {
  if (!create) return;
  if (!schema_->archive().exists) {
    for (const std::string& sql : schema_->CreateArchiveSql()) conn_.Execute(sql);
    events_({{"event", "created"},
             {"table", settings_.archive_table},
             {"message", "created table " + settings_.archive_table + " (like " + settings_.table +
                             ", plus " + settings_.moved_at_column + ")"}});
    schema_ = MemberSchema::Read(conn_, settings_);
    schema_->RequireArchive();
  }
  conn_.Execute("CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(settings_.state_table) +
                " ("
                "run_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                "source_table VARCHAR(64) NOT NULL, "
                "archive_table VARCHAR(64) NOT NULL, "
                "cutoff BIGINT NOT NULL, "
                "moved_at DATETIME NOT NULL, "
                "status VARCHAR(16) NOT NULL, "
                "last_id BIGINT NULL, "
                "rows_moved BIGINT NOT NULL DEFAULT 0, "
                "chunks BIGINT NOT NULL DEFAULT 0, "
                "checksum BIGINT UNSIGNED NOT NULL DEFAULT 0, "
                "checksummed TINYINT NOT NULL DEFAULT 1, "
                "started_at DATETIME(3) NOT NULL, "
                "updated_at DATETIME(3) NOT NULL, "
                "finished_at DATETIME(3) NULL, "
                "holder VARCHAR(255) NULL, "
                "holder_connection BIGINT NULL, "
                "KEY source_status (source_table, status)"
                ") ENGINE=InnoDB");
  // A state table of an older warden: who holds a run's lock was not kept.
  if (TableShape::Read(conn_, settings_.state_table).FindColumn("holder") == nullptr) {
    conn_.Execute("ALTER TABLE " + QuoteIdentifier(settings_.state_table) +
                  " ADD COLUMN holder VARCHAR(255) NULL, ADD COLUMN holder_connection BIGINT NULL");
  }
}

void MemberMigrator::FixArchiveKeys(bool fix) {
  if (schema_->ArchiveUniqueKeys().empty()) return;
  if (!fix) schema_->RequireArchiveKeys();  // throws
  const std::string sql = schema_->ArchiveKeysSql();
  events_({{"event", "note"},
           {"message", "making the unique keys of " + settings_.archive_table +
                           " plain indexes (--fix-archive-keys): " + sql}});
  conn_.Execute(sql.substr(0, sql.size() - 1));
  schema_ = MemberSchema::Read(conn_, settings_);
}

std::string MemberMigrator::LockHolder(int64_t connection, std::optional<bool>* alive) {
  *alive = std::nullopt;
  std::string who = "connection " + std::to_string(connection);
  MysqlRows rows = conn_
                       .Prepare("SELECT holder FROM " + QuoteIdentifier(settings_.state_table) +
                                " WHERE holder_connection = ? AND source_table = ? AND status = "
                                "'running' AND holder IS NOT NULL ORDER BY run_id DESC LIMIT 1")
                       .Query({connection, settings_.table});
  if (rows.empty()) return who;
  const std::string process = rows[0].String(0);
  *alive = ProcessRuns(process);
  const size_t at = process.find('@');
  return who + " of warden pid " + process.substr(0, at) + " on " + process.substr(at + 1);
}

void MemberMigrator::AcquireLock(const MigrateOptions& options) {
  // A named lock, held by this connection: released by the server when the connection ends.
  // After a kill -9 that is not at once: a statement the dead process left running (a chunk
  // waiting for a row lock) runs to its end, and its transaction is rolled back, before the
  // server notices the closed connection. So a holder that no longer runs is waited for, up
  // to lock_wait; one that runs on this host is a live migration, and a holder that cannot be
  // told (another host, another tool) is waited for and then taken for a live one.
  lock_name_ = ("warden.members." + schema_->database() + "." + settings_.table).substr(0, 64);
  MysqlStatement get = conn_.Prepare("SELECT GET_LOCK(?, ?)");
  auto take = [&](double seconds) {
    MysqlRows rows = get.Query({lock_name_, seconds});
    return !rows.empty() && rows[0].OptionalInt64(0).value_or(0) == 1;
  };
  if (take(0)) return;
  MysqlStatement used = conn_.Prepare("SELECT IS_USED_LOCK(?)");
  const int64_t deadline = clock_() + options.lock_wait_ms;
  bool announced = false;
  for (;;) {
    const std::optional<int64_t> holder = used.Query({lock_name_})[0].OptionalInt64(0);
    if (holder) {
      std::optional<bool> alive;
      const std::string who = LockHolder(*holder, &alive);
      if (alive.value_or(false)) {
        throw Error("another warden members migrate is running on " + settings_.table + " (" + who +
                        " holds the lock " + lock_name_ + "); wait for it or stop it",
                    kExitFailure);
      }
      if (clock_() >= deadline || cancelled_()) {
        throw Error("another warden members migrate is running on " + settings_.table + ": " + who +
                        " still holds the lock " + lock_name_ + " after --lock-wait " +
                        FormatDuration(options.lock_wait_ms) + "; wait for it or stop it",
                    kExitFailure);
      }
      if (!announced) {
        announced = true;
        events_(
            {{"event", "lock_wait"},
             {"holder_connection", *holder},
             {"message", "waiting up to " + FormatDuration(options.lock_wait_ms) +
                             " for the lock " + lock_name_ + ", held by " + who +
                             (alive.has_value() ? ", which no longer runs: the server has not yet "
                                                  "closed its connection"
                                                : "")}});
      }
    }
    // Whole seconds: MySQL's GET_LOCK takes no fractions.
    const bool waiting = deadline > clock_();
    if (take(waiting ? 1.0 : 0.0)) {
      if (announced) events_({{"event", "note"}, {"message", "got the lock " + lock_name_}});
      return;
    }
    if (!waiting && !holder) {  // taken and freed again and again by others
      throw Error("another warden members migrate is running on " + settings_.table +
                      " (the lock " + lock_name_ + " was taken each time it was free)",
                  kExitFailure);
    }
  }
}

MemberMigrator::Run MemberMigrator::StartRun(const MigrateOptions& options, int64_t cutoff) {
  const std::string state = QuoteIdentifier(settings_.state_table);
  MysqlRows open = conn_
                       .Prepare(
                           "SELECT run_id, cutoff, DATE_FORMAT(moved_at, '%Y-%m-%d %H:%i:%s'), "
                           "last_id, rows_moved, checksummed FROM " +
                           state +
                           " WHERE source_table = ? AND archive_table = ? AND status = "
                           "'running' ORDER BY run_id DESC LIMIT 1")
                       .Query({settings_.table, settings_.archive_table});
  if (!open.empty() && options.fresh) {
    conn_
        .Prepare("UPDATE " + state +
                 " SET status = 'abandoned', finished_at = NOW(3) WHERE run_id = ?")
        .Execute({open[0].Int64(0)});
    events_({{"event", "abandoned"}, {"run_id", open[0].Int64(0)}});
  } else if (!open.empty()) {
    Run run;
    run.id = open[0].Int64(0);
    run.cutoff = open[0].Int64(1);
    run.moved_at = open[0].String(2);
    run.last_id = open[0].OptionalInt64(3);
    run.rows_moved = open[0].Int64(4);
    run.checksummed = open[0].Int64(5) != 0;
    run.resumed = true;
    conn_
        .Prepare("UPDATE " + state +
                 " SET holder = ?, holder_connection = CONNECTION_ID() WHERE run_id = ?")
        .Execute({ThisProcess(), run.id});
    return run;
  }
  Run run;
  run.cutoff = cutoff;
  run.moved_at = SqlDatetime(clock_());
  run.checksummed = options.verify;
  MysqlExecResult inserted =
      conn_
          .Prepare("INSERT INTO " + state +
                   " (source_table, archive_table, cutoff, moved_at, status, checksummed, "
                   "started_at, updated_at, holder, holder_connection) VALUES (?, ?, ?, ?, "
                   "'running', ?, NOW(3), NOW(3), ?, CONNECTION_ID())")
          .Execute({settings_.table, settings_.archive_table, cutoff, run.moved_at,
                    options.verify ? 1 : 0, ThisProcess()});
  run.id = static_cast<int64_t>(inserted.last_insert_id);
  return run;
}

std::string MemberMigrator::ChecksumExpression() const {
  // pt-table-checksum's row checksum: every column, plus which of them are NULL, hashed; the
  // rows' hashes XORed, so chunks can be summed in any order.
  std::vector<std::string> quoted;
  std::vector<std::string> nulls;
  for (const std::string& c : schema_->CopyColumns()) {
    quoted.push_back(QuoteIdentifier(c));
    nulls.push_back("ISNULL(" + QuoteIdentifier(c) + ")");
  }
  return "COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('#', " + Join(quoted, ", ") +
         ", CONCAT(" + Join(nulls, ", ") + "))), 1, 16), 16, 10) AS UNSIGNED)), 0)";
}

nlohmann::json MemberMigrator::Explain(const std::string& sql,
                                       std::initializer_list<MysqlValue> values) {
  MysqlRows rows = conn_.Prepare("EXPLAIN " + sql).Query(values);
  nlohmann::json out = nlohmann::json::array();
  for (MysqlRow row : rows) {
    nlohmann::json step;
    for (const char* column : {"table", "type", "key", "rows", "Extra"}) {
      const auto& value = row.Get(rows.ColumnIndex(column));
      step[column] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
    }
    out.push_back(step);
  }
  return out;
}

nlohmann::json MemberMigrator::Plan(const MigrateOptions& options) {
  Prepare();
  const MembersSettings& s = settings_;
  const std::string member = QuoteIdentifier(s.table);
  const std::string id = QuoteIdentifier(s.id_column);
  const std::string login = QuoteIdentifier(s.last_login_column);

  int64_t cutoff = CutoffFor(options.inactive_for_ms);
  nlohmann::json plan = {{"dry_run", true},
                         {"table", s.table},
                         {"archive_table", s.archive_table},
                         {"archive_exists", schema_->archive().exists},
                         {"login_index", schema_->LoginIndex()}};
  std::optional<int64_t> resume_from;
  const TableShape state = TableShape::Read(conn_, s.state_table);
  if (state.exists && !options.fresh) {
    MysqlRows open = conn_
                         .Prepare("SELECT run_id, cutoff, last_id, rows_moved FROM " +
                                  QuoteIdentifier(s.state_table) +
                                  " WHERE source_table = ? AND archive_table = ? AND status = "
                                  "'running' ORDER BY run_id DESC LIMIT 1")
                         .Query({s.table, s.archive_table});
    if (!open.empty()) {
      cutoff = open[0].Int64(1);
      resume_from = open[0].OptionalInt64(2);
      plan["resume"] = {{"run_id", open[0].Int64(0)},
                        {"last_id", resume_from ? nlohmann::json(*resume_from) : nullptr},
                        {"rows_moved", open[0].Int64(3)}};
    }
  }
  plan["cutoff"] = cutoff;
  plan["cutoff_time"] = FormatIsoUtc(cutoff * 1000);
  // What migrate would refuse, said here too rather than left to the real run.
  nlohmann::json warnings = nlohmann::json::array();
  if (!schema_->ArchiveUniqueKeys().empty()) {
    warnings.push_back(
        "the archive has unique keys besides its primary key: migrate refuses it unless "
        "--fix-archive-keys (see warden members check)");
  }
  for (const MemberCheck::ForeignKey& fk : MemberCheck::ForeignKeysTo(conn_, s.table)) {
    warnings.push_back(MemberCheck::ForeignKeyMessage(s, fk));
  }
  plan["warnings"] = warnings;
  const int64_t lo = resume_from.value_or(std::numeric_limits<int64_t>::min());

  // Without a cursor the id condition is left out, so the count can use the login index.
  const std::string count_sql = "SELECT COUNT(*), MIN(" + id + "), MAX(" + id + ") FROM " + member +
                                " WHERE " + login + " < ? AND " + id + " > ?";
  const std::string first_count_sql = "SELECT COUNT(*), MIN(" + id + "), MAX(" + id + ") FROM " +
                                      member + " WHERE " + login + " < ?";
  MysqlRows counts = resume_from ? conn_.Prepare(count_sql).Query({cutoff, lo})
                                 : conn_.Prepare(first_count_sql).Query({cutoff});
  int64_t to_move = counts[0].Int64(0);
  if (options.max_rows > 0) to_move = std::min(to_move, options.max_rows);
  plan["to_move"] = to_move;
  plan["inactive"] = counts[0].Int64(0);
  plan["first_id"] =
      counts[0].OptionalInt64(1) ? nlohmann::json(*counts[0].OptionalInt64(1)) : nullptr;
  plan["last_id"] =
      counts[0].OptionalInt64(2) ? nlohmann::json(*counts[0].OptionalInt64(2)) : nullptr;
  plan["members"] = conn_.Query("SELECT COUNT(*) FROM " + member)[0].Int64(0);
  plan["chunk"] = options.chunk;
  plan["parallel"] = options.parallel;
  plan["chunk_time_ms"] = options.chunk_time_ms;
  plan["max_chunk"] = options.max_chunk;
  plan["estimated_chunks"] = (to_move + options.chunk - 1) / std::max<int64_t>(options.chunk, 1);
  plan["throttle"] = options.throttle.ToString();
  plan["explain_count"] =
      resume_from ? Explain(count_sql, {cutoff, lo}) : Explain(first_count_sql, {cutoff});
  plan["explain_chunk"] =
      Explain("SELECT " + id + " FROM " + member + " FORCE INDEX (PRIMARY) WHERE " + id +
                  " > ? AND " + id + " <= ? AND " + login + " < ? ORDER BY " + id + " LIMIT ?",
              {lo, std::numeric_limits<int64_t>::max(), cutoff, options.chunk});
  return plan;
}

// One stripe of a migration's id range, walked by one connection.
struct MemberMigrator::Stripe {
  int index = 0;
  int64_t lo = 0;   // exclusive
  int64_t end = 0;  // inclusive
  double ids_per_row = 1.0;
  bool done = false;
};

// What the stripes of one invocation share, behind one mutex.
struct MemberMigrator::Walk {
  std::mutex mutex;
  MigrateSummary summary;
  ChunkPhases phases;
  std::vector<Stripe> stripes;
  size_t frontier = 0;    // the lowest stripe not done: the only one that moves the cursor
  int64_t in_flight = 0;  // rows the running chunks may still move (for --max-rows)
  int64_t total = 0;
  int64_t started_ms = 0;
  std::condition_variable budget;  // in_flight went down, or stop went up
  std::atomic<bool> stop{false};
  std::exception_ptr error;

  void Fail(std::exception_ptr e) {
    std::lock_guard lock(mutex);
    if (!error) error = e;
    stop = true;
    budget.notify_all();
  }
  // With the mutex held: a chunk's reservation ends (what it moved is counted apart).
  void GiveBack(int64_t reserved) {
    in_flight -= reserved;
    budget.notify_all();
  }
  // With the mutex held: the stripe has walked its range; the cursor may pass it.
  void MarkDone(Stripe& stripe) {
    stripe.done = true;
    while (frontier < stripes.size() && stripes[frontier].done) ++frontier;
  }
};

MemberMigrator::Statements MemberMigrator::PrepareChunk(MysqlConnection& conn, bool verify) {
  const MembersSettings& s = settings_;
  const std::string member = QuoteIdentifier(s.table);
  const std::string archive = QuoteIdentifier(s.archive_table);
  const std::string id = QuoteIdentifier(s.id_column);
  const std::string login = QuoteIdentifier(s.last_login_column);
  std::vector<std::string> columns;
  for (const std::string& c : schema_->CopyColumns()) columns.push_back(QuoteIdentifier(c));
  const std::string column_list = Join(columns, ", ");
  const std::string range = id + " > ? AND " + id + " <= ? AND " + login + " < ?";
  const std::string insert_head = "INSERT INTO " + archive + " (" + column_list + ", " +
                                  QuoteIdentifier(s.moved_at_column) + ") SELECT " + column_list +
                                  ", ? FROM " + member;
  Statements st{
      conn.Prepare("SELECT " + id + " FROM " + member + " FORCE INDEX (PRIMARY) WHERE " + range +
                   " ORDER BY " + id + " LIMIT ? FOR UPDATE"),
      // The copy is the chunk's locking read: FOR UPDATE keeps every row it copies (in READ
      // COMMITTED only those) locked until COMMIT, so the DELETE finds them unchanged.
      conn.Prepare(insert_head + " FORCE INDEX (PRIMARY) WHERE " + range + " ORDER BY " + id +
                   " LIMIT ? FOR UPDATE"),
      // Where a chunk that reached its LIMIT ends: its last row, just archived and not yet
      // deleted, so the one archived row of the span still in member. (moved_at alone is not
      // enough: a resumed run keeps it, and an upper stripe of an earlier invocation archived
      // rows above the cursor with it.) A backward walk on the archive's primary key from the
      // span's end, not on the moved_at index: MariaDB reads `moved_at = ?` there as `ref` and
      // walks every row the run archived above the span first (another stripe's, too).
      conn.Prepare("SELECT a." + id + " FROM " + archive +
                   " a FORCE INDEX (PRIMARY) STRAIGHT_JOIN " + member + " m ON m." + id + " = a." +
                   id + " WHERE a." + id + " > ? AND a." + id + " <= ? AND a." +
                   QuoteIdentifier(s.moved_at_column) + " = ? ORDER BY a." + id + " DESC LIMIT 1"),
      // The multi-table form is the one DELETE that takes an index hint: without it, once few
      // inactive members are left, MariaDB may walk the login index over all of them instead.
      conn.Prepare("DELETE " + member + " FROM " + member + " FORCE INDEX (PRIMARY) WHERE " +
                   range),
      conn.Prepare(insert_head + " WHERE " + id + " = ? AND " + login + " < ?"),
      conn.Prepare("DELETE FROM " + member + " WHERE " + id + " = ? AND " + login + " < ?"),
      // last_id is NULL (kept) from a stripe above the frontier: rows below it may still wait.
      conn.Prepare("UPDATE " + QuoteIdentifier(s.state_table) +
                   " SET last_id = COALESCE(?, last_id), rows_moved = rows_moved + ?, "
                   "chunks = chunks + 1, checksum = checksum ^ ?, "
                   "checksummed = checksummed AND ?, updated_at = NOW(3) WHERE run_id = ?"),
      std::nullopt};
  if (verify) {
    st.checksum = conn.Prepare("SELECT COUNT(*), " + ChecksumExpression() + " FROM " + member +
                               " FORCE INDEX (PRIMARY) WHERE " + range);
  }
  return st;
}

MigrateSummary MemberMigrator::Migrate(const MigrateOptions& options) {
  const int64_t started_ms = clock_();
  Prepare();
  EnsureTables(true);
  FixArchiveKeys(options.fix_archive_keys);
  MemberCheck::RequireNoForeignKeys(conn_, *schema_);
  AcquireLock(options);
  const MembersSettings& s = settings_;
  Run run = StartRun(options, CutoffFor(options.inactive_for_ms));
  if (!options.verify) run.checksummed = false;

  Walk walk;
  walk.started_ms = started_ms;
  MigrateSummary& summary = walk.summary;
  summary.run_id = run.id;
  summary.resumed = run.resumed;
  summary.cutoff = run.cutoff;
  summary.run_rows_moved = run.rows_moved;
  summary.max_impact = options.max_impact;

  const std::string member = QuoteIdentifier(s.table);
  const std::string id = QuoteIdentifier(s.id_column);
  const std::string login = QuoteIdentifier(s.last_login_column);
  const std::string state = QuoteIdentifier(s.state_table);

  // Where the inactive members are: the walk starts after the cursor (resumed) or before the
  // first of them and ends at the last of them, so the active rows around are never read.
  const std::string bounds_sql = "SELECT COUNT(*), MIN(" + id + "), MAX(" + id + ") FROM " +
                                 member + " WHERE " + login + " < ?";
  MysqlRows bounds =
      run.last_id
          ? conn_.Prepare(bounds_sql + " AND " + id + " > ?").Query({run.cutoff, *run.last_id})
          : conn_.Prepare(bounds_sql).Query({run.cutoff});
  const int64_t remaining = bounds[0].Int64(0);
  walk.total = options.max_rows > 0 ? std::min(remaining, options.max_rows) : remaining;
  int64_t lo = run.last_id.value_or(std::numeric_limits<int64_t>::min());
  if (!bounds[0].IsNull(1)) lo = std::max(lo, bounds[0].Int64(1) - 1);
  const int64_t end = bounds[0].OptionalInt64(2).value_or(lo);

  // Stripes: equal id ranges, one connection each. A resumed run splits what is left anew;
  // a stripe above the cursor that was done already walks rows that are gone, quickly.
  int64_t parallel = std::max<int64_t>(1, options.parallel);
  if (end - lo < parallel * kMinChunk) parallel = 1;
  // How many ids a chunk spans: from the density of inactive ids, then learnt chunk by chunk.
  double ids_per_row = 1.0;
  if (remaining > 0 && end > lo) {
    ids_per_row = std::max(1.0, static_cast<double>(end - lo) / static_cast<double>(remaining));
  }
  for (int64_t i = 0; i < parallel; ++i) {
    Stripe stripe;
    stripe.index = static_cast<int>(i);
    stripe.lo = i == 0 ? lo : walk.stripes.back().end;
    stripe.end =
        i + 1 == parallel
            ? end
            : lo + static_cast<int64_t>(static_cast<__int128>(end - lo) * (i + 1) / parallel);
    stripe.ids_per_row = ids_per_row;
    walk.stripes.push_back(stripe);
  }
  events_({{"event", "start"},
           {"run_id", run.id},
           {"resumed", run.resumed},
           {"already_moved", run.rows_moved},
           {"cutoff", run.cutoff},
           {"cutoff_time", FormatIsoUtc(run.cutoff * 1000)},
           {"to_move", walk.total},
           {"parallel", parallel},
           {"table", s.table},
           {"archive_table", s.archive_table}});

  // The events of every stripe go out one at a time.
  const EventSink events = [this, &walk](const nlohmann::json& event) {
    std::lock_guard lock(walk.mutex);
    events_(event);
  };
  std::vector<std::thread> workers;
  try {
    for (size_t i = 1; i < walk.stripes.size(); ++i) {
      workers.emplace_back([this, &walk, &run, &options, &events, i] {
        try {
          if (!connect_) throw Error("parallel needs a way to open more connections", kExitFailure);
          MysqlConnection conn = connect_();
          ConfigureSession(conn);
          WalkStripe(conn, walk, walk.stripes[i], run, options, events);
        } catch (...) {
          walk.Fail(std::current_exception());
        }
      });
    }
  } catch (...) {
    walk.Fail(std::current_exception());  // a thread that could not start; the others stop
  }
  try {
    WalkStripe(conn_, walk, walk.stripes[0], run, options, events);
  } catch (...) {
    walk.Fail(std::current_exception());
  }
  for (std::thread& t : workers) t.join();
  if (walk.error) std::rethrow_exception(walk.error);
  summary.phases = walk.phases.ToJson();

  bool all_done = std::all_of(walk.stripes.begin(), walk.stripes.end(),
                              [](const Stripe& st) { return st.done; });
  if (!all_done && summary.stopped == "max-rows" && walk.stripes.size() > 1) {
    // The budget can run out before a stripe has walked its tail: a stripe ends at an equal
    // share of the ids, not at its last inactive member. Done if none is left.
    all_done = conn_
                   .Prepare("SELECT EXISTS (SELECT 1 FROM " + member + " WHERE " + login +
                            " < ? AND " + id + " > ? AND " + id + " <= ?)")
                   .Query({run.cutoff, lo, end})[0]
                   .Int64(0) == 0;
  }
  summary.complete = all_done && (summary.stopped.empty() || summary.stopped == "max-rows");
  if (summary.complete) {
    summary.stopped.clear();
    // Every stripe is done: the cursor may stand at the end (a stripe above the frontier did
    // not move it as it went).
    conn_
        .Prepare("UPDATE " + state +
                 " SET status = 'done', last_id = IF(? AND (last_id IS NULL OR last_id < ?), ?, "
                 "last_id), finished_at = NOW(3), updated_at = NOW(3) WHERE run_id = ?")
        .Execute({bounds[0].IsNull(2) ? 0 : 1, end, end, run.id});
  }
  conn_.Prepare("SELECT RELEASE_LOCK(?)").Query({lock_name_});
  summary.elapsed_ms = clock_() - started_ms;
  if (options.verify) summary.verify = Verify(run.id);
  events_({{"event", "done"}, {"summary", summary.ToJson()}});
  return summary;
}

void MemberMigrator::WalkStripe(MysqlConnection& conn, Walk& walk, Stripe& stripe, const Run& run,
                                const MigrateOptions& options, const EventSink& events) {
  Statements st = PrepareChunk(conn, options.verify);
  MigrateSummary& summary = walk.summary;
  const bool striped = walk.stripes.size() > 1;
  auto stopping = [&] { return walk.stop.load() || cancelled_(); };
  ChunkSizer sizer(options.chunk, options.chunk_time_ms, options.max_chunk, kMinChunk);
  LoadThrottle throttle(conn, options.throttle, settings_.replicas, events, stopping, clock_);
  int consecutive_retries = 0;
  int64_t lo = stripe.lo;
  const int64_t end = stripe.end;
  double& ids_per_row = stripe.ids_per_row;
  const std::string archive = QuoteIdentifier(settings_.archive_table);
  const std::string id = QuoteIdentifier(settings_.id_column);

  std::optional<ImpactGovernor> governor;
  if (options.max_impact) {
    governor.emplace(
        conn,
        "SELECT " + id + " FROM " + QuoteIdentifier(settings_.table) + " WHERE " + id + " = ?",
        end);
    governor->Start();
  }

  int64_t stripe_paused_ms = 0;
  while (lo < end) {
    int64_t limit = sizer.size();
    {
      std::unique_lock lock(walk.mutex);
      if (options.max_rows > 0) {
        // Rows a running chunk reserved come back if it finds fewer: wait for it rather than
        // stop short of --max-rows.
        int64_t left = 0;
        while ((left = options.max_rows - summary.rows_moved - walk.in_flight) <= 0 &&
               walk.in_flight > 0 && !walk.stop) {
          walk.budget.wait(lock);
        }
        if (left <= 0) {
          if (summary.stopped.empty() && summary.rows_moved >= options.max_rows) {
            summary.stopped = "max-rows";
          }
          walk.stop = true;
          walk.budget.notify_all();
          break;
        }
        limit = std::min(limit, left);
      }
      walk.in_flight += limit;
    }
    int64_t paused_ms = 0;
    const bool go_on = !stopping() && throttle.Wait(&paused_ms);
    {
      std::lock_guard lock(walk.mutex);
      // The stripes pause side by side: the run paused as long as its longest-paused stripe.
      stripe_paused_ms += paused_ms;
      summary.paused_ms = std::max(summary.paused_ms, stripe_paused_ms);
      if (!go_on) {
        walk.GiveBack(limit);
        if (summary.stopped.empty()) summary.stopped = "cancelled";
        walk.stop = true;
        break;
      }
    }
    // Half again the span that should hold `limit` rows: the LIMIT ends the chunk where the
    // density is as expected, the span where it is lower.
    const int64_t span = static_cast<int64_t>(std::ceil(ids_per_row * limit * 1.5)) + 1;
    const int64_t hi_bound = std::min(SaturatingAdd(lo, span), end);
    // The cursor in the state table moves only with the lowest unfinished stripe.
    auto cursor = [&](int64_t hi) -> MysqlValue {
      std::lock_guard lock(walk.mutex);
      return walk.frontier == static_cast<size_t>(stripe.index) ? MysqlValue(hi)
                                                                : MysqlValue(std::nullopt);
    };

    const int64_t chunk_start = clock_();
    int64_t found = 0;
    int64_t hi = hi_bound;
    bool fallback = false;
    ChunkPhases phases;
    try {
      PhaseTimer timer(phases);
      MysqlTransaction tx(conn);
      found = static_cast<int64_t>(
          st.insert.Execute({run.moved_at, lo, hi_bound, run.cutoff, limit}).affected_rows);
      timer.Lap(&ChunkPhases::copy);
      Failpoint("members.after_insert");
      if (found == 0) {
        tx.Rollback();  // nothing inactive in the span; the cursor is kept in memory only
      } else {
        if (found == limit) {
          // (Never empty: the rows were just copied. If it were, the DELETE would cover the
          // whole span and its count would send the chunk to the row-by-row path.)
          MysqlRows last = st.last.Query({lo, hi_bound, run.moved_at});
          if (!last.empty()) hi = last[0].Int64(0);
          timer.Lap(&ChunkPhases::bound);
        }
        uint64_t checksum = 0;
        int64_t summed = found;
        if (st.checksum) {
          // The source rows, before the DELETE: what the archive must hold at the end.
          MysqlRows sum = st.checksum->Query({lo, hi, run.cutoff});
          summed = sum[0].Int64(0);
          checksum = sum[0].Uint64(1);
        }
        const uint64_t deleted = st.remove.Execute({lo, hi, run.cutoff}).affected_rows;
        timer.Lap(&ChunkPhases::remove);
        Failpoint("members.after_delete");
        if (deleted != static_cast<uint64_t>(found) || summed != found) {
          // The copied rows are locked, so the DELETE found them all: a difference is a row
          // that entered the range unlocked (a restored member, a login time moved backwards).
          // Undo, and move exactly the rows a locking read takes, one by one: all of the
          // range's (no LIMIT short of hi - lo), as the cursor will pass them all.
          tx.Rollback();
          fallback = true;
          MysqlTransaction redo(conn);
          MysqlRows locked = st.lock.Query({lo, hi, run.cutoff, hi - lo});
          found = static_cast<int64_t>(locked.size());
          if (st.checksum) checksum = 0;
          for (MysqlRow row : locked) {
            const int64_t member_id = row.Int64(0);
            const uint64_t one =
                st.insert_one.Execute({run.moved_at, member_id, run.cutoff}).affected_rows;
            const uint64_t gone = st.remove_one.Execute({member_id, run.cutoff}).affected_rows;
            if (one != 1 || gone != 1) {
              throw Error("member " + std::to_string(member_id) +
                              " changed while locked; nothing of this chunk was moved",
                          kExitFailure);
            }
          }
          if (st.checksum && found > 0) {
            // The rows are in the archive now: sum them there, by id.
            MysqlStatement one = conn.Prepare("SELECT COUNT(*), " + ChecksumExpression() +
                                              " FROM " + archive + " WHERE " + id + " = ?");
            for (MysqlRow row : locked) checksum ^= one.Query({row.Int64(0)})[0].Uint64(1);
          }
          st.progress.Execute({cursor(hi), found, checksum, run.checksummed ? 1 : 0, run.id});
          Failpoint("members.before_commit");
          redo.Commit();
        } else {
          st.progress.Execute({cursor(hi), found, checksum, run.checksummed ? 1 : 0, run.id});
          timer.Lap(&ChunkPhases::progress);
          Failpoint("members.before_commit");
          tx.Commit();
          timer.Lap(&ChunkPhases::commit);
        }
        Failpoint("members.after_commit");
      }
      consecutive_retries = 0;
    } catch (const MysqlRetryableError& e) {
      {
        std::lock_guard lock(walk.mutex);
        walk.GiveBack(limit);
        ++summary.retries;
      }
      if (++consecutive_retries > kMaxConsecutiveRetries) throw;
      sizer.Shrink();
      events({{"event", "retry"}, {"error", e.what()}, {"chunk", sizer.size()}});
      Sleep(50 * consecutive_retries);
      continue;
    }
    const int64_t chunk_ms = clock_() - chunk_start;

    // Learn how many ids hold one inactive row, so the next span is about one chunk.
    if (found == limit) {
      ids_per_row = std::max(1.0, static_cast<double>(hi - lo) / static_cast<double>(found));
    } else if (found == 0) {
      ids_per_row *= 4;
    } else {
      ids_per_row =
          std::max(ids_per_row, static_cast<double>(hi - lo) / static_cast<double>(found));
    }
    lo = hi;
    if (found > 0 && !fallback) sizer.Record(found, chunk_ms);
    ImpactGovernor::Advice advice;
    if (governor && found > 0) {
      advice = governor->AfterChunk(chunk_ms);
      if (advice.shrink) sizer.Shrink();
    }

    nlohmann::json event;
    {
      std::lock_guard lock(walk.mutex);
      walk.GiveBack(limit);
      walk.phases.Add(phases);
      if (found > 0) {
        ++summary.chunks;
        summary.rows_moved += found;
        summary.run_rows_moved += found;
        summary.longest_chunk_ms = std::max(summary.longest_chunk_ms, chunk_ms);
        if (fallback) ++summary.fallbacks;
      }
      if (found > 0 || lo >= end) {
        const double elapsed_s = std::max<int64_t>(clock_() - walk.started_ms, 1) / 1000.0;
        const double rate = summary.rows_moved / elapsed_s;
        const int64_t left = std::max<int64_t>(walk.total - summary.rows_moved, 0);
        event = {{"event", "chunk"},
                 {"run_id", run.id},
                 {"rows", found},
                 {"moved", summary.rows_moved},
                 {"total", walk.total},
                 {"last_id", lo},
                 {"chunk_ms", chunk_ms},
                 {"next_chunk", sizer.size()},
                 {"rows_per_s", std::round(rate)},
                 {"eta_s", rate > 0 ? std::round(left / rate) : 0.0}};
        if (striped) event["stripe"] = stripe.index;
        if (fallback) event["fallback"] = true;
      }
    }
    if (!event.is_null()) events(event);
    if (advice.rest_ms > 0 && lo < end && !stopping()) {
      if (!advice.reason.empty()) {
        events({{"event", "rest"},
                {"reason", advice.reason},
                {"rest_ms", advice.rest_ms},
                {"next_chunk", sizer.size()}});
      }
      Sleep(advice.rest_ms);
      std::lock_guard lock(walk.mutex);
      summary.rested_ms += advice.rest_ms;
      summary.pressured_chunks += advice.reason.empty() ? 0 : 1;
    }
  }
  if (lo >= end) {
    std::lock_guard lock(walk.mutex);
    walk.MarkDone(stripe);
  }
}

nlohmann::json MemberMigrator::Verify(int64_t run_id) {
  if (!schema_) Prepare();
  const MembersSettings& s = settings_;
  const std::string member = QuoteIdentifier(s.table);
  const std::string archive = QuoteIdentifier(s.archive_table);
  const std::string id = QuoteIdentifier(s.id_column);
  const std::string login = QuoteIdentifier(s.last_login_column);

  MysqlRows run = conn_
                      .Prepare(
                          "SELECT cutoff, DATE_FORMAT(moved_at, '%Y-%m-%d %H:%i:%s'), last_id, "
                          "rows_moved, checksum, checksummed FROM " +
                          QuoteIdentifier(s.state_table) + " WHERE run_id = ?")
                      .Query({run_id});
  if (run.empty()) throw UsageError("no migration run " + std::to_string(run_id));
  const int64_t cutoff = run[0].Int64(0);
  const std::string moved_at = run[0].String(1);
  const auto last_id = run[0].OptionalInt64(2);
  const int64_t rows_moved = run[0].Int64(3);
  const uint64_t checksum = run[0].Uint64(4);
  const bool checksummed = run[0].Int64(5) != 0;

  MysqlRows archived =
      conn_
          .Prepare("SELECT COUNT(*), " + ChecksumExpression() + " FROM " + archive + " WHERE " +
                   QuoteIdentifier(s.moved_at_column) + " = ?")
          .Query({moved_at});
  const int64_t in_archive = archived[0].Int64(0);
  const uint64_t archive_sum = archived[0].Uint64(1);
  const int64_t in_both = conn_
                              .Query("SELECT COUNT(*) FROM " + member + " m JOIN " + archive +
                                     " a ON a." + id + " = m." + id)[0]
                              .Int64(0);
  int64_t left_behind = 0;
  if (last_id) {
    left_behind = conn_
                      .Prepare("SELECT COUNT(*) FROM " + member + " WHERE " + login + " < ? AND " +
                               id + " <= ?")
                      .Query({cutoff, *last_id})[0]
                      .Int64(0);
  }
  nlohmann::json report = {{"run_id", run_id},
                           {"rows_moved", rows_moved},
                           {"archived", in_archive},
                           {"in_both_tables", in_both},
                           {"left_behind", left_behind}};
  bool ok = in_archive == rows_moved && in_both == 0 && left_behind == 0;
  if (checksummed) {
    report["checksum"] = std::to_string(checksum);
    report["archive_checksum"] = std::to_string(archive_sum);
    ok = ok && checksum == archive_sum;
  } else {
    report["checksum"] = nullptr;  // part of the run went without --verify
  }
  report["ok"] = ok;
  return report;
}

}  // namespace warden
