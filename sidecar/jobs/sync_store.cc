#include "jobs/sync_store.h"

#include "jobs/job_tables.h"
#include "storage/mysql/mysql_transaction.h"

namespace warden {

namespace {

constexpr const char* kCheckpointColumns =
    "page_cursor, page_offset, last_id, inflight_last_id, inflight_count, fence, records, chunks";

SyncCheckpoint FromRow(const MysqlRow& row) {
  SyncCheckpoint cp;
  cp.page_cursor = row.OptionalString(0);
  cp.page_offset = row.Int64(1);
  cp.last_id = row.OptionalString(2);
  cp.inflight_last_id = row.OptionalString(3);
  cp.inflight_count = static_cast<int>(row.Int64(4));
  cp.fence = row.Int64(5);
  cp.records = row.Int64(6);
  cp.chunks = row.Int64(7);
  return cp;
}

}  // namespace

void SyncStore::CheckFence() {
  MysqlRows rows =
      conn_.Prepare("SELECT fence FROM warden_sync_checkpoints WHERE job = ? FOR UPDATE")
          .Query({job_});
  if (rows.empty()) throw FencedOutError("the checkpoint of job " + job_ + " disappeared");
  const int64_t holder = rows[0].Int64(0);
  if (holder > fence_) {
    throw FencedOutError("a newer run (fence " + std::to_string(holder) +
                         ") took over the checkpoint of job " + job_ + "; this run (fence " +
                         std::to_string(fence_) + ") stops");
  }
}

SyncCheckpoint SyncStore::Begin() {
  JobTables::Ensure(conn_);
  conn_
      .Prepare(
          "INSERT IGNORE INTO warden_sync_checkpoints (job, fence, updated_at) "
          "VALUES (?, 0, NOW(3))")
      .Execute({job_});
  MysqlTransaction tx(conn_);
  MysqlRows rows = conn_
                       .Prepare(std::string("SELECT ") + kCheckpointColumns +
                                " FROM warden_sync_checkpoints WHERE job = ? FOR UPDATE")
                       .Query({job_});
  if (rows.empty()) throw FencedOutError("the checkpoint of job " + job_ + " disappeared");
  SyncCheckpoint cp = FromRow(rows[0]);
  if (cp.fence > fence_) {
    throw FencedOutError("a newer run (fence " + std::to_string(cp.fence) +
                         ") holds the checkpoint of job " + job_);
  }
  conn_.Prepare("UPDATE warden_sync_checkpoints SET fence = ?, updated_at = NOW(3) WHERE job = ?")
      .Execute({fence_, job_});
  tx.Commit();
  cp.fence = fence_;
  return cp;
}

void SyncStore::MarkInflight(const std::string& last_id, int count) {
  MysqlTransaction tx(conn_);
  CheckFence();
  conn_
      .Prepare(
          "UPDATE warden_sync_checkpoints SET inflight_last_id = ?, inflight_count = ?, "
          "updated_at = NOW(3) WHERE job = ?")
      .Execute({last_id, count, job_});
  tx.Commit();
}

void SyncStore::Commit(const SyncCheckpoint& next, const std::vector<NewDeadLetter>& dead,
                       const std::function<void(MysqlConnection&)>& extra) {
  MysqlTransaction tx(conn_);
  CheckFence();
  if (extra) extra(conn_);
  if (!dead.empty()) {
    MysqlStatement insert = conn_.Prepare(
        "INSERT INTO warden_dead_letters (job, record_id, record, error, attempts, created_at) "
        "VALUES (?, ?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE record = VALUES(record), "
        "error = VALUES(error), attempts = attempts + VALUES(attempts), replayed_at = NULL, "
        "replay_error = NULL");
    for (const NewDeadLetter& d : dead) {
      insert.Execute({job_, d.record_id, d.record, d.error, d.attempts});
    }
  }
  conn_
      .Prepare(
          "UPDATE warden_sync_checkpoints SET page_cursor = ?, page_offset = ?, last_id = ?, "
          "inflight_last_id = NULL, inflight_count = 0, records = ?, chunks = ?, "
          "updated_at = NOW(3) WHERE job = ?")
      .Execute({next.page_cursor, next.page_offset, next.last_id, next.records, next.chunks, job_});
  tx.Commit();
}

std::optional<SyncCheckpoint> SyncStore::Load(MysqlConnection& conn, const std::string& job) {
  JobTables::Ensure(conn);
  MysqlRows rows = conn.Prepare(std::string("SELECT ") + kCheckpointColumns +
                                " FROM warden_sync_checkpoints WHERE job = ?")
                       .Query({job});
  if (rows.empty()) return std::nullopt;
  return FromRow(rows[0]);
}

std::vector<DeadLetter> SyncStore::DeadLetters(MysqlConnection& conn, const std::string& job,
                                               bool all, int limit) {
  JobTables::Ensure(conn);
  std::string sql =
      "SELECT id, job, record_id, record, error, attempts, "
      "CAST(ROUND(UNIX_TIMESTAMP(created_at) * 1000) AS SIGNED), "
      "CAST(ROUND(UNIX_TIMESTAMP(replayed_at) * 1000) AS SIGNED), replay_error "
      "FROM warden_dead_letters WHERE job = ?";
  if (!all) sql += " AND replayed_at IS NULL";
  sql += " ORDER BY id LIMIT ?";
  MysqlRows rows = conn.Prepare(sql).Query({job, limit});
  std::vector<DeadLetter> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    MysqlRow row = rows[i];
    DeadLetter d;
    d.id = row.Int64(0);
    d.job = row.String(1);
    d.record_id = row.String(2);
    d.record = row.String(3);
    d.error = row.String(4);
    d.attempts = static_cast<int>(row.Int64(5));
    d.created_ms = row.Int64(6);
    d.replayed_ms = row.OptionalInt64(7);
    d.replay_error = row.OptionalString(8).value_or("");
    out.push_back(std::move(d));
  }
  return out;
}

void SyncStore::MarkReplayed(MysqlConnection& conn, int64_t id, int64_t now_ms,
                             const std::optional<std::string>& error) {
  if (error) {
    conn.Prepare("UPDATE warden_dead_letters SET replay_error = ? WHERE id = ?")
        .Execute({*error, id});
  } else {
    conn.Prepare(
            "UPDATE warden_dead_letters SET replayed_at = FROM_UNIXTIME(? / 1000), "
            "replay_error = NULL WHERE id = ?")
        .Execute({now_ms, id});
  }
}

}  // namespace warden
