#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/leaky_bucket.h"
#include "core/shm_map.h"

namespace warden {

// One `warden_limit_zone`: per-key leaky buckets in shared memory (limit_req's semantics),
// plus the bookkeeping that lets the fleet agree on one level per key:
//  - interval sync: requests accepted here since the last sync are counted per key; the
//    leader pushes the counts to Redis, which returns the fleet's level of each bucket;
//  - exact mode: Redis decides; the local bucket mirrors Redis's last answer, so a key that is
//    over its limit is refused here until it has leaked enough, at no cost to Redis.
class RateLimiter {
 public:
  struct Bucket {
    int64_t excess;
    int64_t last_ms;
    uint32_t pending;  // accepted here, not yet pushed to Redis
    uint32_t unused;
  };

  struct Count {
    std::string key;  // as stored (see ShmMap::StoredKey)
    uint32_t accepted;
  };

  explicit RateLimiter(ShmMap* map) : map_(map) {}

  // One request for `key`. Accepted requests raise the bucket (and the pending count when
  // `count_for_sync`); rejected ones change nothing.
  LeakyBucketVerdict Take(std::string_view key, const LeakyBucketParams& params, int64_t now_ms,
                          int32_t pid, bool count_for_sync);

  // Hands over the per-key counts accepted since the last call (and zeroes them).
  std::vector<Count> TakeCounts(size_t max, int32_t pid);

  // Sets `key`'s bucket to the fleet's level as Redis reported it at about `now_ms`; requests
  // accepted here since the counts were taken are added on top.
  void SetFleetLevel(std::string_view stored_key, int64_t fleet_excess, int64_t now_ms,
                     int32_t pid);

  // Mirrors Redis's answer in exact mode: the level after an accepted request, or (refused)
  // the level it would have made, so later requests are refused here until it has leaked.
  void Mirror(std::string_view stored_key, int64_t level, bool refused, int64_t now_ms,
              int32_t pid);

  ShmMap::Stats stats() const { return map_->ReadStats(); }

 private:
  ShmMap* map_;
};

}  // namespace warden
