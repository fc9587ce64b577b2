#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "blacklist_table.h"
#include "clock.h"
#include "redis_schema.h"

struct redisAsyncContext;
struct redisReply;

namespace warden {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
using LogFn = std::function<void(LogLevel, const std::string&)>;

struct RedisEndpoint {
  std::string host = "127.0.0.1";  // an IP literal: names are resolved at configuration time
  int port = 6379;
  std::string unix_path;  // used instead of host:port when set
  std::string password;
  int db = 0;
  std::string prefix = "warden:";
  int timeout_ms = 1000;

  std::string Describe() const;
};

// Keeps the node's shared BlacklistTable in step with Redis, from inside one nginx worker,
// without ever blocking it: hiredis's async API on the worker's event loop (the glue attaches
// the connection), an initial HSCAN of the whole list, then the change stream with XREAD BLOCK.
// Only the worker elected leader of the node talks to Redis; the others just read the table.
//
// The glue calls Tick() about every 100 ms: it renews leadership, reconnects with backoff,
// enforces command timeouts and frees slots of expired entries.
class BlacklistSync {
 public:
  using AttachFn = std::function<bool(redisAsyncContext*)>;

  BlacklistSync(RedisEndpoint endpoint, BlacklistTable* table, int32_t pid, Clock clock,
                AttachFn attach, LogFn log);
  ~BlacklistSync();
  BlacklistSync(const BlacklistSync&) = delete;
  BlacklistSync& operator=(const BlacklistSync&) = delete;

  void Tick();
  // Graceful worker exit: drop the connection and hand leadership to another worker.
  void Shutdown();

  bool leader() const { return leader_; }
  bool connected() const { return ac_ != nullptr; }

  static constexpr int64_t kLeaseMs = 3000;
  static constexpr int kBlockMs = 1000;
  static constexpr int kScanCount = 1000;
  static constexpr int kWriteBatch = 64;

 private:
  enum class State { kIdle, kHello, kLoading, kStreaming };

  void Connect();
  void Drop(const std::string& why);  // outside hiredis callbacks only
  void ScheduleRetry();
  void Expect(int64_t budget_ms);
  void SendHello(bool force_full);
  std::string NewEpoch();
  void SendScan();
  void SendRead();
  void OnHello(redisReply* reply);
  void OnScan(redisReply* reply);
  void OnRead(redisReply* reply);
  void OnAuthOrSelect(redisReply* reply, const char* what);
  void ProtocolError(const std::string& what);
  void Apply(const std::string& op, const std::string& entry, const std::string& value,
             uint64_t seq, const std::string& id, BlacklistTable::WriteBatch* batch);

  static void ConnectCallback(const redisAsyncContext* ac, int status);
  static void DisconnectCallback(const redisAsyncContext* ac, int status);
  template <void (BlacklistSync::*Handler)(redisReply*)>
  static void ReplyCallback(redisAsyncContext* ac, void* reply, void* privdata);
  static void AuthCallback(redisAsyncContext* ac, void* reply, void* privdata);

  RedisEndpoint endpoint_;
  RedisSchema schema_;
  BlacklistTable* table_;
  int32_t pid_;
  Clock clock_;
  AttachFn attach_;
  LogFn log_;

  redisAsyncContext* ac_ = nullptr;
  State state_ = State::kIdle;
  bool leader_ = false;
  bool outage_logged_ = false;
  bool shut_down_ = false;
  bool force_full_ = false;  // the next hello reloads everything whatever Redis says
  int64_t next_attempt_ms_ = 0;
  int64_t backoff_ms_ = 0;
  int64_t pending_deadline_ms_ = 0;  // 0: nothing outstanding

  // The snapshot a full load is taken against: the stream position it resumes from.
  std::string load_epoch_;
  std::string load_stream_id_;
  uint64_t load_seq_ = 0;
  std::string scan_cursor_;
  int64_t load_started_ms_ = 0;
  uint64_t load_entries_ = 0;
  uint64_t load_skipped_ = 0;
  std::mt19937 rng_;
};

}  // namespace warden
