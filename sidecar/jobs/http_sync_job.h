#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/metrics.h"
#include "common/backoff.h"
#include "jobs/breaker_registry.h"
#include "jobs/retry_budget.h"
#include "jobs/sync_store.h"
#include "net/http_client.h"
#include "scheduler/job_run.h"
#include "scheduler/job_type.h"
#include "storage/mysql/mysql_pool.h"

namespace warden {

// The keys of an http_sync [[job]] (docs/scheduler.md).
struct HttpSyncSettings : JobParams {
  enum class Pagination { kCursor, kOffset };
  // Service A.
  std::string source_url;
  Pagination pagination = Pagination::kCursor;
  int page_size = 100;
  std::string records_field = "records";          // where the records are in a page
  std::string next_cursor_field = "next_cursor";  // cursor pagination: the next page
  std::string cursor_param = "cursor";
  std::string limit_param = "limit";
  std::string offset_param = "offset";
  std::map<std::string, std::string> source_headers;
  // Service B: an HTTP endpoint (POST {"records": [...]}) or a MariaDB table.
  std::string sink_url;
  std::map<std::string, std::string> sink_headers;
  std::string sink_table;
  std::vector<std::string> sink_columns;
  std::string sink_key;  // the table's unique key column; defaults to id_field
  // Records and chunks.
  std::string id_field = "id";
  int chunk_size = 100;
  double rate_limit = 0;  // requests per second to each service, 0: unlimited
  int64_t connect_timeout_ms = 2000;
  int64_t transfer_timeout_ms = 10000;
  int64_t max_response = 8 << 20;  // bytes of one response; a page nested deeper than
                                   // kMaxJsonDepth is malformed too
  int max_record_attempts = 3;     // rejections of one record before it is dead-lettered
  RetrySettings retry;
  BreakerSettings breaker;
};

// One run of an `http_sync` job: pull records from service A page by page and push them to
// service B (an HTTP API or a MariaDB table) in chunks, exactly once through faults and crashes.
//
//   - Pages: GET source.url?cursor=C&limit=N (cursor pagination: the page's next_cursor names
//     the next page; none, null or "" ends) or ?offset=O&limit=N (offset pagination: a short
//     page ends). A page is a JSON object with the records in `records` (a dotted path).
//   - Records carry an id (id_field) that grows in source order, as keyset and cursor APIs
//     deliver them. A record whose id is not above the last one delivered is a duplicate (a
//     repeated or overlapping page) and is dropped.
//   - Chunks: POST sink.url {"records":[...]} with Idempotency-Key
//     "warden:JOB:FIRST_ID:LAST_ID:COUNT". Before a chunk goes out its last id is recorded as
//     in flight; once B acknowledged it, the checkpoint (last id, page) moves past it in
//     MariaDB. After a crash the in-flight chunk goes out again with the same records and key,
//     so B, which must honour the key, applies it once; nothing acknowledged is sent again.
//     With a MariaDB sink the rows and the checkpoint commit in one transaction instead.
//   - Failures: connection errors, timeouts, 408/429/5xx and unparsable pages are retried with
//     exponential backoff and full jitter, up to `retries` per call and `retry_budget` per run,
//     through a circuit breaker per remote. A chunk B rejects (400, 409, 413, 422; SQL data
//     errors) is split in halves down to single records; a record rejected max_record_attempts
//     times goes to warden_dead_letters with the error, in the same transaction that moves the
//     checkpoint past it.
//   - Every checkpoint write is fenced (the lease's fencing token): a run that lost its lease
//     cannot move the checkpoint once a newer run took it over.
//   - Cancellation (timeout, replace, shutdown) stops at the next chunk boundary: what was
//     acknowledged is checkpointed, the next run resumes there.
class HttpSyncJob {
 public:
  struct Deps {
    MysqlPool* pool = nullptr;
    BreakerRegistry* breakers = nullptr;
    Metrics* metrics = nullptr;
    Logger* logger = nullptr;
    // Raises the job's fencing counter in Redis past `at_least` when Redis lost it, and
    // returns the next fence (0: not behind). Empty: no Redis to ask.
    std::function<int64_t(int64_t at_least)> reseed_fence;
  };

  HttpSyncJob(const RunRequest& request, Deps deps);
  RunOutcome Run();

  // Re-sends dead letters (`warden job deadletters NAME --replay`), one record per request
  // under the key "warden:JOB:dead-letter:ID". Returns {sent, failed}.
  static std::pair<int, int> Replay(const JobSpec& job, MysqlConnection& conn,
                                    const std::vector<DeadLetter>& letters, Logger* logger);

 private:
  struct Record {
    nlohmann::json value;
    std::string id;
    std::optional<std::string> page_cursor;  // the page it came from, for the checkpoint
    int64_t page_offset = 0;
  };
  struct Page {
    std::vector<Record> records;
    std::optional<std::string> next_cursor;
    bool last = false;
  };
  // What a sink said about one chunk.
  enum class Verdict { kAcked, kRejected };

  Page FetchPage();
  void DeliverReady(bool flush);
  void Resolve(size_t begin, size_t end);
  Verdict SendHttp(size_t begin, size_t end, std::string* why);
  Verdict WriteTable(size_t begin, size_t end, std::string* why);
  // Moves the checkpoint past pending_[end - 1] (fenced), with `acked` more records delivered.
  void Advance(size_t end, int64_t acked, std::vector<SyncStore::NewDeadLetter> dead,
               const std::function<void(MysqlConnection&)>& extra = {});
  // GET or POST with retries, backoff, breaker, budget and rate limit. `check` validates a 2xx
  // body (an error message makes it retryable). Returns the final response (2xx or a status
  // that is not retried); throws SyncFailure when it gives up.
  HttpResponse Call(HttpClient::Request request, const std::string& what,
                    const std::function<std::string(const HttpResponse&)>& check = {});
  void Throttle();
  void CheckCancelled();
  std::string ChunkBody(size_t begin, size_t end) const;
  std::string Key(size_t begin, size_t end) const;

  RunRequest request_;
  const JobSpec& job_;
  const HttpSyncSettings& settings_;
  Deps deps_;
  std::optional<MysqlPool::Lease> conn_;
  std::unique_ptr<SyncStore> store_;
  SyncCheckpoint cp_;
  HttpClient http_;
  Backoff backoff_;
  RetryBudget budget_;
  int64_t fence_;  // the run's fencing token: the scheduler's, or a reseeded one
  std::shared_ptr<SharedCircuitBreaker> source_breaker_;
  std::shared_ptr<SharedCircuitBreaker> sink_breaker_;
  int64_t next_token_ms_ = 0;  // rate limit
  std::vector<Record> pending_;
  std::map<std::string, int> rejections_;  // record id -> rejections in this run
  std::optional<std::string> forced_end_;  // resume: the in-flight chunk ends here
  int64_t delivered_ = 0;
  int64_t dead_lettered_ = 0;
  // Where to fetch next.
  std::optional<std::string> cursor_;
  int64_t offset_ = 0;
};

// Ids compare as integers when both are integers, else as strings.
int CompareRecordIds(const std::string& a, const std::string& b);

// type = "http_sync": [source], [sink] and the keys above. Needs MariaDB.
JobType HttpSyncJobType();

}  // namespace warden
