#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/address.h"
#include "core/async_redis.h"
#include "common/redis_schema.h"
#include "core/shm_map.h"

namespace warden {

// Who is hitting us: per-address request and refusal counts, summed in shared memory by every
// worker and flushed to Redis by the node's leader in batches (never a Redis write per
// request), into per-minute sorted sets that expire on their own. `warden top` reads them.
//
// A worker first sums into a small table of its own and folds that into shared memory every
// tick (or when two addresses meet in one of its slots): the shared zone's lock and hash
// lookup are paid per address and tick, not per request.
class TrafficCounter {
 public:
  struct Counts {
    uint32_t requests;
    uint32_t refused;
    char country[2];
    uint8_t unused[2];
  };

  TrafficCounter(ShmMap* map, int32_t pid) : map_(map), pid_(pid) {}

  void Count(const IpAddress& addr, bool refused, const char* country, int64_t now_ms);
  // Moves this worker's pending counts into shared memory (every tick, and at exit).
  void Fold();
  // Leader only: sends the counts gathered since the last flush; one script call per batch.
  void Flush(AsyncRedis* redis, const RedisSchema& schema);

  static constexpr size_t kBatch = 1000;
  static constexpr size_t kPendingSlots = 256;  // a power of two
  static constexpr int64_t kRetentionMs = 2 * 3600 * 1000;

 private:
  struct Pending {
    IpAddress::Bytes addr;
    int64_t last_ms;
    uint32_t requests;  // 0: the slot is free
    uint32_t refused;
    char country[2];
  };

  void FoldLocked(Pending& p);

  ShmMap* map_;
  int32_t pid_;
  bool in_flight_ = false;
  std::array<Pending, kPendingSlots> pending_{};
};

}  // namespace warden
