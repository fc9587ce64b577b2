#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/redis_schema.h"
#include "core/async_client.h"
#include "core/blacklist_table.h"
#include "core/node_report.h"

namespace warden {

// Keeps the node's shared BlacklistTable in step with Redis, from inside one nginx worker,
// without ever blocking it: an initial HSCAN of the whole list, then the change stream with
// XREAD BLOCK on a connection of its own. Only the worker elected leader of the node talks
// to Redis; the others just read the table.
//
// Tick() (about every 100 ms) renews leadership, drives the connection and frees slots of
// expired entries.
class BlacklistSync {
 public:
  BlacklistSync(RedisEndpoint endpoint, BlacklistTable* table, int32_t pid, Clock clock,
                AsyncClient::AttachFn attach, LogFn log);
  ~BlacklistSync();
  BlacklistSync(const BlacklistSync&) = delete;
  BlacklistSync& operator=(const BlacklistSync&) = delete;

  void Tick();
  // Graceful worker exit: drop the connection and hand leadership to another worker.
  void Shutdown();

  bool leader() const { return leader_; }
  bool connected() const { return redis_->connected(); }
  uint64_t redis_errors() const { return redis_->errors(); }
  // When Redis last answered the sync (0: never): the sync lag the metrics show.
  int64_t last_contact_ms() const { return last_contact_ms_; }
  // The last additions this worker applied from the change stream, with when (its heartbeat's
  // ban propagation times); a new leader starts with none.
  const AppliedRing& applied() const { return applied_; }
  const AsyncClient& redis() const { return *redis_; }

  static constexpr int64_t kLeaseMs = 3000;
  static constexpr int kBlockMs = 1000;
  static constexpr int kScanCount = 1000;
  static constexpr int kWriteBatch = 64;
  // A full reload from a Redis that comes back (nearly) empty, a restart without persistence,
  // FLUSHALL, a failover to an empty replica, must not unban the fleet: a reload that would
  // leave less than half of a list of at least kHoldMinEntries is held (the node keeps its
  // list, still applies new changes, logs an error, and the metrics show it) until the
  // operator accepts the new data set with `warden sync --accept-empty`.
  static constexpr uint64_t kHoldMinEntries = 100;
  static constexpr int64_t kAcceptCheckMs = 1000;
  bool reload_held() const { return held_; }

 private:
  void SendHello(bool force_full);
  void SendScan();
  void SendRead();
  void OnHello(redisReply* reply);
  void OnScan(redisReply* reply);
  void OnRead(redisReply* reply);
  void OnAccept(redisReply* reply);
  // Writes the full load's position (epoch, stream id, sequence number) to the table. Committed,
  // the generation the load wrote goes live (entries only the old list had go); held, it
  // keeps building on top of the old list until the operator accepts it.
  void RecordLoad(bool commit);
  // Wraps a handler: ignores failures (the connection handles them), reports error replies.
  template <void (BlacklistSync::*Handler)(redisReply*)>
  AsyncClient::Callback Handle(const char* what);
  // Sends one step of the hello / load / read chain (one is on its way at a time).
  void SendStep(std::vector<std::string> args, int64_t budget_ms, AsyncClient::Callback done);
  void Apply(const std::string& op, const std::string& entry, const std::string& value,
             uint64_t seq, const std::string& id, BlacklistTable::WriteBatch* batch);
  std::string NewEpoch();

  RedisSchema schema_;
  BlacklistTable* table_;
  int32_t pid_;
  Clock clock_;
  std::unique_ptr<AsyncClient> redis_;
  // A step of the chain is on its way: a reconnection (or, in a cluster, a primary's) does
  // not start a second chain, and a chain a cluster's failure broke is started again by Tick.
  bool step_in_flight_ = false;
  bool leader_ = false;
  bool shut_down_ = false;
  bool force_full_ = false;
  int64_t last_contact_ms_ = 0;  // the next hello reloads everything whatever Redis says

  // The snapshot a full load is taken against: the stream position it resumes from.
  std::string load_epoch_;
  std::string load_stream_id_;
  uint64_t load_seq_ = 0;
  std::string scan_cursor_;
  int64_t load_started_ms_ = 0;
  uint64_t load_entries_ = 0;
  uint64_t load_skipped_ = 0;
  uint64_t load_prev_entries_ = 0;  // the list before the load, when there was one
  bool held_ = false;
  int64_t next_accept_check_ms_ = 0;
  AppliedRing applied_;
};

}  // namespace warden
