#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace warden {

// Counters of one nginx node, in a small shared-memory region: one row per worker so workers
// never contend on a cache line; readers (the metrics endpoint) add the rows up. The region
// outlives reloads, so counters only grow, as Prometheus expects.
class NodeStats {
 public:
  static constexpr int kMaxWorkers = 64;
  static constexpr int kDecisions = 8;
  // Outcomes of warden_cache_serve, in the order of WARDEN_CACHE_* (warden_core.h).
  static constexpr int kCacheResults = 6;
  // warden_challenge: pages served, answers accepted (WARDEN_CHALLENGE_SERVED/_SOLVED).
  static constexpr int kChallengeResults = 2;
  // Why requests were blocked (decision "block"), in the order of WARDEN_CAUSE_* from
  // WARDEN_CAUSE_BLACKLIST (warden_core.h): a blacklist entry, the country, an autoban's entry.
  static constexpr int kBlockCauses = 3;
  // Redis Cluster events of the node's connections, in the order of ClusterEvent
  // (core/async_client.h): moved, ask, down, slot_map.
  static constexpr int kClusterEvents = 4;

  struct Row {
    std::atomic<uint64_t> decisions[kDecisions];
    std::atomic<uint64_t> cache[kCacheResults];
    std::atomic<uint64_t> challenges[kChallengeResults];
    std::atomic<uint64_t> blocks[kBlockCauses];
    // Totals of this worker's current process, stored (not added) every tick.
    std::atomic<uint64_t> redis_errors;
    std::atomic<uint64_t> autobans;
    std::atomic<uint64_t> limit_pushes;
    std::atomic<int32_t> pid;
    // Requests of sync=exact zones this worker decided alone because Redis could not (no
    // connection, the circuit open, no answer in time): a failover shows here.
    std::atomic<uint64_t> exact_local;
    std::atomic<uint64_t> cluster[kClusterEvents];
  };

  struct Totals {
    uint64_t decisions[kDecisions] = {};
    uint64_t cache[kCacheResults] = {};
    uint64_t challenges[kChallengeResults] = {};
    uint64_t blocks[kBlockCauses] = {};
    uint64_t redis_errors = 0;
    uint64_t autobans = 0;
    uint64_t limit_pushes = 0;
    uint64_t exact_local = 0;
    uint64_t cluster[kClusterEvents] = {};
    int64_t last_redis_contact_ms = 0;
    uint64_t redis_failovers = 0;
    std::string redis_primary;  // empty: none confirmed (or not through Sentinel)
  };

  // "pass", "allow", "block", ... by the glue's decision index (WARDEN_* and its own three);
  // "blacklist", "country", "autoban" by block cause (0-based).
  static const char* DecisionName(int decision);
  static const char* BlockCauseName(int cause);
  static const char* ClusterEventName(int event);

  static size_t RegionSize();
  bool Attach(void* region, size_t bytes);
  bool attached() const { return header_ != nullptr; }

  // `worker` is nginx's worker number (0-based); out-of-range numbers share the last row.
  Row* row(int worker);
  // On a row looked up once (Worker keeps its own): the count of every request, inline.
  static void CountDecision(Row* row, int decision) {
    if (decision >= 0 && decision < kDecisions) {
      row->decisions[decision].fetch_add(1, std::memory_order_relaxed);
    }
  }
  // `cause`: WARDEN_CAUSE_BLACKLIST.. (1-based); anything else is not counted.
  void CountBlock(int worker, int cause);
  void CountCache(int worker, int result);
  void CountChallenge(int worker, int result);
  void NoteRedisContact(int64_t now_ms);
  void CountExactLocal(int worker);
  void CountClusterEvent(int worker, int event);
  // A connection of this node confirmed `address` as the Redis primary (ROLE master). Returns
  // true when it replaces another one, and sets `previous`: a failover, counted once per node
  // however many workers confirm it; the caller logs it.
  bool NotePrimary(const std::string& address, int32_t pid, std::string* previous);
  Totals Sum() const;

 private:
  struct Header;
  Header* header_ = nullptr;
};

}  // namespace warden
