#include "jobs/job_tables.h"

namespace warden {

void JobTables::Ensure(MysqlConnection& conn) {
  conn.Execute(
      "CREATE TABLE IF NOT EXISTS warden_job_runs ("
      " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
      " job VARCHAR(64) NOT NULL,"
      " run_trigger VARCHAR(16) NOT NULL,"
      " node VARCHAR(255) NOT NULL,"
      " fence BIGINT NOT NULL,"
      " fire_time DATETIME(3) NOT NULL,"
      " started_at DATETIME(3) NOT NULL,"
      " finished_at DATETIME(3) NULL,"
      " result VARCHAR(16) NOT NULL,"
      " rows_done BIGINT NOT NULL DEFAULT 0,"
      " error TEXT NULL,"
      " output MEDIUMTEXT NULL,"
      " KEY job_started (job, started_at)"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  conn.Execute(
      "CREATE TABLE IF NOT EXISTS warden_sync_checkpoints ("
      " job VARCHAR(64) NOT NULL PRIMARY KEY,"
      " page_cursor TEXT NULL,"
      " page_offset BIGINT NOT NULL DEFAULT 0,"
      " last_id VARCHAR(255) NULL,"
      " inflight_last_id VARCHAR(255) NULL,"
      " inflight_count INT NOT NULL DEFAULT 0,"
      " fence BIGINT NOT NULL DEFAULT 0,"
      " records BIGINT NOT NULL DEFAULT 0,"
      " chunks BIGINT NOT NULL DEFAULT 0,"
      " updated_at DATETIME(3) NOT NULL"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  conn.Execute(
      "CREATE TABLE IF NOT EXISTS warden_dead_letters ("
      " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
      " job VARCHAR(64) NOT NULL,"
      " record_id VARCHAR(255) NOT NULL,"
      " record MEDIUMTEXT NOT NULL,"
      " error TEXT NOT NULL,"
      " attempts INT NOT NULL,"
      " created_at DATETIME(3) NOT NULL,"
      " replayed_at DATETIME(3) NULL,"
      " replay_error TEXT NULL,"
      " UNIQUE KEY job_record (job, record_id),"
      " KEY job_created (job, created_at)"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
}

}  // namespace warden
