#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "common/redis_schema.h"
#include "core/async_redis.h"
#include "core/shm_map.h"

namespace warden {

// Who is hitting us: per-address request and refusal counts, with the responses' status
// classes, bytes and upstream time, summed in shared memory by every worker and flushed to
// Redis by the node's leader in batches (never a Redis write per request), into per-minute keys
// that expire on their own. `warden top` and the console read them.
//
// A worker first sums into a small table of its own and folds that into shared memory every
// tick (or when two addresses meet in one of its slots): the shared zone's lock and hash
// lookup are paid per address and tick, not per request. In the zone an address has two
// slots: its counts (the address as key) and the detail of its responses (the address and a
// tag byte), each as large as a slot's value.
class TrafficCounter {
 public:
  // What the log phase knows of one request.
  struct Sample {
    bool refused = false;  // blocked or limited by Warden
    const char* country = nullptr;
    int status = 0;            // the response's status (0: none)
    uint64_t bytes = 0;        // sent to the client
    uint64_t upstream_ms = 0;  // spent waiting on upstreams (php-fpm, a proxy)
    std::string_view path;     // as the client asked for it, without its query
  };
  struct Counts {
    uint32_t requests;
    uint32_t refused;
    char country[2];
    uint8_t unused[2];
  };
  struct Detail {
    uint32_t status_3xx;  // 2xx is what is left of the requests (with the rare 1xx and 000)
    uint32_t status_4xx;
    uint32_t status_5xx;
    uint32_t upstream_ms;  // saturating: an address's time in one flush interval
    uint64_t bytes;
  };
  static constexpr uint8_t kDetailTag = 'd';
  // A path's counts: its key is kPathTag and its 8-byte hash; its text follows in up to
  // kPathChunks slots keyed kPathTextTag, the hash and the chunk's number.
  struct PathCounts {
    uint32_t requests;
    uint32_t status_5xx;
    uint32_t upstream_ms;
    uint16_t text_len;  // of the text stored (kMaxPath at most)
    uint8_t truncated;
    uint8_t unused[9];
  };
  static constexpr uint8_t kPathTag = 'p';
  static constexpr uint8_t kPathTextTag = 'P';
  static constexpr size_t kPathChunks = 4;
  static constexpr size_t kMaxPath = kPathChunks * ShmMap::kValueBytes;  // 96 bytes
  static constexpr size_t kPendingPaths = 64;                            // a power of two

  TrafficCounter(ShmMap* map, int32_t pid) : map_(map), pid_(pid) {}

  void Count(const IpAddress& addr, const Sample& sample, int64_t now_ms);
  // Moves this worker's pending counts into shared memory (every tick, and at exit).
  void Fold();
  // Leader only: sends the counts gathered since the last flush, and `decided`, the node's
  // decisions since the last flush ("pass=12 block=3", Worker::DecisionsSince); one script
  // call per batch.
  void Flush(AsyncRedis* redis, const RedisSchema& schema, const std::string& decided = "");

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
    uint32_t status_3xx, status_4xx, status_5xx;
    uint64_t upstream_ms;
    uint64_t bytes;
  };

  struct PendingPath {
    uint64_t hash;
    uint32_t requests;  // 0: the slot is free
    uint32_t status_5xx;
    uint64_t upstream_ms;
    int64_t last_ms;
    uint16_t text_len;
    bool truncated;
    char text[kMaxPath];
  };

  void FoldLocked(Pending& p);
  void CountPath(const Sample& sample, int64_t now_ms);
  void FoldPathLocked(PendingPath& p);
  // The text of a path in the zone ("" when its slots were evicted meanwhile).
  std::string PathText(uint64_t hash, const PathCounts& counts);

  ShmMap* map_;
  int32_t pid_;
  bool in_flight_ = false;
  std::array<Pending, kPendingSlots> pending_{};
  std::array<PendingPath, kPendingPaths> pending_paths_{};
};

}  // namespace warden
