#pragma once

#include "scheduler/job_run.h"
#include "scheduler/job_type.h"
#include "storage/mysql/mysql_pool.h"

namespace warden {

// The keys of a `sql` [[job]].
struct SqlSettings : JobParams {
  std::string statement;
};

// Runs a `sql` job: its statement on a connection of its own (whose read timeout outlasts the
// job's timeout; 24 h without one). With a timeout, MariaDB's max_statement_time stops the
// statement server-side, and a cancelled run (timeout, replace, shutdown) kills it with
// KILL QUERY from a second connection. Rows = affected rows.
RunOutcome RunSqlJob(const RunRequest& request, const MysqlUrl& url, int64_t connect_timeout_ms);

// type = "sql": statement, retries. Needs MariaDB.
JobType SqlJobType();

}  // namespace warden
