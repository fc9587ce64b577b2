#include "jobs/sql_job.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "base/duration.h"
#include "base/errors.h"
#include "jobs/job_services.h"

namespace warden {

namespace {

constexpr unsigned kStatementTimeout = 1969;  // ER_STATEMENT_TIMEOUT (MariaDB)
constexpr unsigned kQueryInterrupted = 1317;  // ER_QUERY_INTERRUPTED

// Watches the cancel token while the statement runs; kills the query when it fires.
class QueryKiller {
 public:
  QueryKiller(const RunRequest& request, const MysqlUrl& url, unsigned long thread_id)
      : thread_([this, &request, url, thread_id] {
          std::unique_lock<std::mutex> lock(mutex_);
          while (!done_) {
            if (request.cancel->cancelled()) {
              lock.unlock();
              try {
                MysqlConnection killer = MysqlConnection::Connect(url);
                killer.Execute("KILL QUERY " + std::to_string(thread_id));
                killed_ = true;
              } catch (const std::exception&) {
                // The statement ends on its own (or by max_statement_time).
              }
              return;
            }
            cv_.wait_for(lock, std::chrono::milliseconds(50));
          }
        }) {}
  ~QueryKiller() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool killed_ = false;
  std::thread thread_;
};

}  // namespace

RunOutcome RunSqlJob(const RunRequest& request, const MysqlUrl& url, int64_t connect_timeout_ms) {
  const JobSpec& job = *request.job;
  RunOutcome outcome;
  outcome.started_ms = SystemNowMs();
  try {
    MysqlConnection::Options options;
    options.connect_timeout_ms = connect_timeout_ms;
    options.read_timeout_ms = job.timeout_ms > 0 ? job.timeout_ms + 30000 : 24 * 3600 * 1000LL;
    MysqlPool pool(url, options, 0);
    MysqlPool::Lease conn = pool.Acquire();
    try {
      if (job.timeout_ms > 0) {
        try {
          conn->Execute("SET SESSION max_statement_time = " +
                        std::to_string(static_cast<double>(job.timeout_ms) / 1000.0));
        } catch (const MysqlConnectionLostError&) {
          throw;
        } catch (const MysqlError&) {
          // MySQL has no max_statement_time: the cancel path still kills the query.
        }
      }
      uint64_t affected = 0;
      {
        QueryKiller killer(request, url, mysql_thread_id(conn->handle()));
        affected = conn->Execute(job.Params<SqlSettings>().statement);
      }
      outcome.rows = static_cast<int64_t>(affected);
      outcome.result = RunResult::kOk;
      if (job.timeout_ms > 0) conn->Execute("SET SESSION max_statement_time = 0");
    } catch (const MysqlConnectionLostError&) {
      conn.Discard();
      throw;
    } catch (const MysqlError& e) {
      if (job.timeout_ms > 0) {
        try {
          conn->Execute("SET SESSION max_statement_time = 0");
        } catch (const MysqlError&) {
          conn.Discard();
        }
      }
      throw;
    }
  } catch (const MysqlError& e) {
    outcome.result = request.cancel->cancelled() ? RunResult::kCancelled : RunResult::kFailed;
    outcome.error = e.what();
    if (e.code() == kStatementTimeout) {
      outcome.result = RunResult::kTimeout;
      outcome.error = "the statement ran longer than " + FormatDuration(job.timeout_ms);
    } else if (e.code() == kQueryInterrupted && request.cancel->cancelled()) {
      outcome.error =
          std::string("statement killed: ") + CancelToken::ReasonText(request.cancel->reason());
    }
  }
  outcome.finished_ms = SystemNowMs();
  return outcome;
}

JobType SqlJobType() {
  JobType type;
  type.name = "sql";
  type.parse = [](TomlReader& r, JobSpec* spec) {
    auto settings = std::make_shared<SqlSettings>();
    settings->statement = *r.String("statement", true);
    if (settings->statement.find_first_not_of(" \t\r\n;") == std::string::npos) {
      r.Fail(r.Get("statement"), "statement", "is empty");
    }
    spec->params = std::move(settings);
    return "statement, " + ParseRunRetries(r, spec);
  };
  type.run = [](const RunRequest& request, int64_t, const JobServices& services) {
    if (services.mysql_url == nullptr) return NeedsMariaDb("sql");
    return RunSqlJob(request, *services.mysql_url, services.mysql_connect_timeout_ms);
  };
  return type;
}

}  // namespace warden
