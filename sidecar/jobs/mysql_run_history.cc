#include "jobs/mysql_run_history.h"

#include <cstdio>

#include "base/errors.h"
#include "jobs/job_tables.h"

namespace warden {

namespace {

constexpr size_t kMaxOutput = 64 * 1024;
constexpr size_t kMaxError = 4096;

std::string Tail(const std::string& text, size_t max) {
  return text.size() <= max ? text : text.substr(text.size() - max);
}

// Milliseconds as a DATETIME(3) value in UTC: FROM_UNIXTIME(ms / 1000) in a '+00:00' session.
constexpr const char* kMsToDatetime = "FROM_UNIXTIME(? / 1000)";
constexpr const char* kDatetimeToMs = "CAST(ROUND(UNIX_TIMESTAMP(%s) * 1000) AS SIGNED)";

std::string ToMs(const char* column) {
  char buf[128];
  std::snprintf(buf, sizeof buf, kDatetimeToMs, column);
  return buf;
}

}  // namespace

int64_t MysqlRunHistory::Begin(const RunRequest& request, const std::string& node,
                               int64_t started_ms) {
  MysqlPool::Lease conn = pool_.Acquire();
  try {
    std::call_once(tables_, [&] { JobTables::Ensure(*conn); });
    MysqlStatement insert = conn->Prepare(
        std::string("INSERT INTO warden_job_runs (job, run_trigger, node, fence, fire_time, "
                    "started_at, result) VALUES (?, ?, ?, ?, ") +
        kMsToDatetime + ", " + kMsToDatetime + ", 'running')");
    MysqlExecResult r = insert.Execute({request.job->name, RunTriggerName(request.trigger), node,
                                        request.fence, request.fire_ms, started_ms});
    return static_cast<int64_t>(r.last_insert_id);
  } catch (const MysqlConnectionLostError&) {
    conn.Discard();
    throw;
  }
}

void MysqlRunHistory::Finish(int64_t id, const RunOutcome& outcome) {
  MysqlPool::Lease conn = pool_.Acquire();
  try {
    MysqlStatement update =
        conn->Prepare(std::string("UPDATE warden_job_runs SET finished_at = ") + kMsToDatetime +
                      ", result = ?, rows_done = ?, error = ?, output = ? WHERE id = ?");
    std::optional<std::string> error, output;
    if (!outcome.error.empty()) error = outcome.error.substr(0, kMaxError);
    if (!outcome.output.empty()) output = Tail(outcome.output, kMaxOutput);
    update.Execute(
        {outcome.finished_ms, RunResultName(outcome.result), outcome.rows, error, output, id});
  } catch (const MysqlConnectionLostError&) {
    conn.Discard();
    throw;
  }
}

std::vector<RunRecord> MysqlRunHistory::Recent(const std::string& job, int limit) {
  MysqlPool::Lease conn = pool_.Acquire();
  try {
    return Recent(*conn, job, limit);
  } catch (const MysqlConnectionLostError&) {
    conn.Discard();
    throw;
  }
}

std::vector<RunRecord> MysqlRunHistory::Recent(MysqlConnection& conn, const std::string& job,
                                               int limit) {
  JobTables::Ensure(conn);
  const std::string columns = "id, job, run_trigger, node, fence, " + ToMs("fire_time") + ", " +
                              ToMs("started_at") + ", " + ToMs("finished_at") +
                              ", result, rows_done, error, output FROM warden_job_runs";
  MysqlRows rows;
  if (job.empty()) {
    rows = conn.Prepare("SELECT " + columns + " ORDER BY id DESC LIMIT ?").Query({limit});
  } else {
    rows = conn.Prepare("SELECT " + columns + " WHERE job = ? ORDER BY id DESC LIMIT ?")
               .Query({job, limit});
  }
  std::vector<RunRecord> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    MysqlRow row = rows[i];
    RunRecord r;
    r.id = row.Int64(0);
    r.job = row.String(1);
    r.trigger = row.String(2);
    r.node = row.String(3);
    r.fence = row.Int64(4);
    r.fire_ms = row.Int64(5);
    r.started_ms = row.Int64(6);
    r.finished_ms = row.OptionalInt64(7);
    r.result = row.String(8);
    r.rows = row.Int64(9);
    r.error = row.OptionalString(10).value_or("");
    r.output = row.OptionalString(11).value_or("");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace warden
