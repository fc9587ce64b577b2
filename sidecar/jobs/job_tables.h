#pragma once

#include "storage/mysql/mysql_connection.h"

namespace warden {

// The scheduler's tables in MariaDB (docs/scheduler.md), created when missing:
//   warden_job_runs          one row per run: start, end, result, rows, error, output
//   warden_sync_checkpoints  per http_sync job: where it stands, and who may move it (fence)
//   warden_dead_letters      records the sink rejected repeatedly, with the error
// All times are DATETIME(3) in UTC (connections use time_zone '+00:00').
class JobTables {
 public:
  // CREATE TABLE IF NOT EXISTS for the three; cheap to call again.
  static void Ensure(MysqlConnection& conn);
};

}  // namespace warden
