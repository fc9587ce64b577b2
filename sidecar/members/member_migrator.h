#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.h"
#include "members/member_schema.h"
#include "members/members_config.h"
#include "storage/mysql/mysql_connection.h"

namespace warden {

// What one `warden members migrate` asks for; the defaults come from [members].
struct MigrateOptions {
  int64_t inactive_for_ms = int64_t{365} * 86400 * 1000;
  int64_t max_rows = 0;        // stop after this many rows (0: all); the run stays resumable
  int64_t chunk = 1000;        // rows in the first chunk
  int64_t chunk_time_ms = 80;  // the chunk size adapts to this (0: fixed size)
  int64_t max_chunk = 50000;
  ThrottleSettings throttle;
  bool verify = false;   // checksum every chunk, check counts and checksum at the end
  bool fresh = false;    // abandon an unfinished run instead of resuming it
  int64_t parallel = 1;  // stripes of the id range moved at once, one connection each
  // How long to wait for the lock of a run that is no longer running (killed, its connection
  // not yet closed by the server); a run that is alive on this host fails at once.
  int64_t lock_wait_ms = 30000;
  bool fix_archive_keys = false;  // make the archive's unique keys plain indexes first
  // Steer by what the site feels (row lock waits, a probe query's latency): rest after each
  // chunk, longer and with a smaller next chunk under pressure (ImpactGovernor).
  bool max_impact = false;
};

// How a migration (one invocation) went.
struct MigrateSummary {
  int64_t run_id = 0;
  bool resumed = false;
  int64_t cutoff = 0;          // last_login_time < cutoff moved (unix seconds)
  int64_t rows_moved = 0;      // by this invocation
  int64_t run_rows_moved = 0;  // by the run, earlier invocations included
  int64_t chunks = 0;
  int64_t elapsed_ms = 0;
  int64_t longest_chunk_ms = 0;  // the longest chunk transaction, START to COMMIT
  int64_t paused_ms = 0;
  int64_t retries = 0;    // deadlocks and lock wait timeouts, each chunk rolled back and redone
  int64_t fallbacks = 0;  // chunks redone row by row because the range moved under them
  bool complete = false;  // every inactive member is moved: the run is done
  bool max_impact = false;
  int64_t pressured_chunks = 0;          // --max-impact: chunks after which the site felt the run
  int64_t rested_ms = 0;                 // --max-impact: rests between chunks
  std::string stopped;                   // why it stopped early: "max-rows", "cancelled", ""
  std::optional<nlohmann::json> verify;  // Verify's report, with --verify
  nlohmann::json phases;                 // ms spent in each step of the chunks

  double rows_per_s() const {
    return elapsed_ms > 0 ? static_cast<double>(rows_moved) * 1000.0 / elapsed_ms : 0;
  }
  nlohmann::json ToJson() const;
};

// Moves members whose last_login_time is older than a cutoff from `member` to
// `unconnected_member` (docs/members.md):
//   - the cutoff is computed once per run and kept with the run, so a resumed run uses it too;
//   - the primary key is walked with keyset pagination in chunks; each chunk is one short
//     transaction that locks the chunk's inactive rows (FOR UPDATE, READ COMMITTED), copies them
//     with INSERT ... SELECT, deletes them, checks that both touched exactly the rows it locked
//     (else redoes the chunk row by row), and advances the run's cursor in the state table:
//     a crash at any point leaves every member in exactly one table and the cursor right;
//   - the chunk size adapts so that a chunk takes about chunk_time;
//   - with parallel N, N connections each walk one Nth of the id range; the cursor moves only
//     with the lowest stripe not done, so a resumed run never skips a row;
//   - between chunks it pauses while the server is busy or a replica lags.
// Progress goes to `events` as JSON objects ({"event":"chunk",...}, see docs/members.md).
class MemberMigrator {
 public:
  using EventSink = std::function<void(const nlohmann::json&)>;

  MemberMigrator(MysqlConnection& conn, MembersSettings settings, EventSink events,
                 std::function<bool()> cancelled = nullptr, Clock clock = SystemNowMs);

  // --dry-run: what a migration would do, changing nothing: counts, the cutoff, the run it
  // would resume, and the index MariaDB chooses for each statement (EXPLAIN).
  nlohmann::json Plan(const MigrateOptions& options);
  // Runs (or resumes) a migration. Throws UsageError for unusable tables, MysqlError for the
  // database, Error when another migration of the same table is running.
  MigrateSummary Migrate(const MigrateOptions& options);
  // How a migration with parallel > 1 opens its other connections (they get this one's
  // session settings).
  void set_connector(std::function<MysqlConnection()> connect) { connect_ = std::move(connect); }
  // Checks a run: the archive holds exactly the rows the run moved (count and checksum), no
  // member is in both tables, no inactive member is left behind the cursor.
  nlohmann::json Verify(int64_t run_id);

 private:
  struct Run;
  struct Statements;
  struct Stripe;
  struct Walk;

  void Prepare();
  static void ConfigureSession(MysqlConnection& conn);
  Statements PrepareChunk(MysqlConnection& conn, bool verify);
  // Moves the inactive rows of one stripe, chunk by chunk, on `conn`.
  void WalkStripe(MysqlConnection& conn, Walk& walk, Stripe& stripe, const Run& run,
                  const MigrateOptions& options, const EventSink& events);
  void EnsureTables(bool create);
  void AcquireLock(const MigrateOptions& options);
  // Who holds the migration lock: "connection N", with the process that took it when the
  // state table knows it; *alive says whether that process runs (nullopt: not on this host).
  std::string LockHolder(int64_t connection, std::optional<bool>* alive);
  void FixArchiveKeys(bool fix);
  Run StartRun(const MigrateOptions& options, int64_t cutoff);
  std::string ChecksumExpression() const;
  int64_t CutoffFor(int64_t inactive_for_ms) const;
  nlohmann::json Explain(const std::string& sql, std::initializer_list<MysqlValue> values);

  MysqlConnection& conn_;
  std::function<MysqlConnection()> connect_;
  MembersSettings settings_;
  EventSink events_;
  std::function<bool()> cancelled_;
  Clock clock_;
  std::optional<MemberSchema> schema_;
  std::string lock_name_;
};

}  // namespace warden
