#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/errors.h"
#include "storage/mysql/mysql_connection.h"

namespace warden {

// Where an http_sync job stands (warden_sync_checkpoints).
struct SyncCheckpoint {
  std::optional<std::string> page_cursor;  // cursor pagination: the page holding the next record
  int64_t page_offset = 0;                 // offset pagination: the same
  std::optional<std::string> last_id;      // the last record the sink acknowledged
  // A chunk that went out and may or may not have arrived: on resume the same records go out
  // again as the same chunk, under the same idempotency key.
  std::optional<std::string> inflight_last_id;
  int inflight_count = 0;
  int64_t fence = 0;
  int64_t records = 0;
  int64_t chunks = 0;
};

// A record the sink rejected repeatedly.
struct DeadLetter {
  int64_t id = 0;
  std::string job;
  std::string record_id;
  std::string record;  // JSON
  std::string error;
  int attempts = 0;
  int64_t created_ms = 0;
  std::optional<int64_t> replayed_ms;
  std::string replay_error;
};

// A newer run (a higher fencing token) took the checkpoint over: this run must stop.
class FencedOutError : public Error {
 public:
  explicit FencedOutError(const std::string& message) : Error(message, kExitFailure) {}
};

// The checkpoint and dead letters of one http_sync job, for one run holding `fence`. Every
// write checks the fence inside its transaction (SELECT ... FOR UPDATE), so a run whose lease
// expired and was taken over can never move the checkpoint again.
class SyncStore {
 public:
  SyncStore(MysqlConnection& conn, std::string job, int64_t fence)
      : conn_(conn), job_(std::move(job)), fence_(fence) {}

  // Creates the row if needed, takes it over for this run's fence and returns it. Throws
  // FencedOutError if a newer run holds it.
  SyncCheckpoint Begin();
  // Records the chunk about to go out.
  void MarkInflight(const std::string& last_id, int count);
  // In one transaction: the fence check, `dead` letters, the new position (in-flight mark
  // cleared), and `extra` (the sink's rows for a MariaDB sink).
  struct NewDeadLetter {
    std::string record_id;
    std::string record;
    std::string error;
    int attempts = 0;
  };
  void Commit(const SyncCheckpoint& next, const std::vector<NewDeadLetter>& dead,
              const std::function<void(MysqlConnection&)>& extra = {});

  static std::optional<SyncCheckpoint> Load(MysqlConnection& conn, const std::string& job);
  // Newest first; replayed ones too when `all`.
  static std::vector<DeadLetter> DeadLetters(MysqlConnection& conn, const std::string& job,
                                             bool all, int limit);
  static void MarkReplayed(MysqlConnection& conn, int64_t id, int64_t now_ms,
                           const std::optional<std::string>& error);

 private:
  void CheckFence();  // inside a transaction

  MysqlConnection& conn_;
  std::string job_;
  int64_t fence_;
};

}  // namespace warden
