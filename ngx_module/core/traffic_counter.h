#pragma once

#include <cstdint>
#include <string>

#include "address.h"
#include "async_redis.h"
#include "redis_schema.h"
#include "shm_map.h"

namespace warden {

// Who is hitting us: per-address request and refusal counts, summed in shared memory by every
// worker and flushed to Redis by the node's leader in batches (never a Redis write per
// request), into per-minute sorted sets that expire on their own. `warden top` reads them.
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
  // Leader only: sends the counts gathered since the last flush; one script call per batch.
  void Flush(AsyncRedis* redis, const RedisSchema& schema);

  static constexpr size_t kBatch = 1000;
  static constexpr int64_t kRetentionMs = 2 * 3600 * 1000;

 private:
  ShmMap* map_;
  int32_t pid_;
  bool in_flight_ = false;
};

}  // namespace warden
