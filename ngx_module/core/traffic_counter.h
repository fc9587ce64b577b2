#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "common/distinct_paths.h"
#include "common/redis_schema.h"
#include "core/async_client.h"
#include "core/node_stats.h"
#include "core/shm_map.h"

namespace warden {

// Who is hitting us: per-address request and refusal counts, with the responses' status
// classes, bytes and upstream time, summed in shared memory by every worker and flushed to
// Redis by the node's leader in batches (never a Redis write per request), into per-minute keys
// that expire on their own. `warden top` and the console read them.
//
// A worker first sums into a small table of its own and folds that into shared memory every
// tick (or when two addresses meet in one of its slots): the shared zone's lock and hash
// lookup are paid per address and tick, not per request. In the zone an address has up to four
// slots: its counts (the address as key), the detail of its responses, its profile (distinct
// paths, user agent) and its top paths (the address and a tag byte each), each as large as a
// slot's value. Whatever clients send, an address costs these four slots, a path five, a user
// agent five (its text, shared by the addresses that send it): the zone's LRU bounds the rest.
//
// Per address and flush: its distinct paths (DistinctPaths, OR-merged), its top path and its
// user agent (Misra–Gries summaries of two and one candidates: a path or user agent asked for
// more than a third, resp. half, of the time is sure to be the one reported), and the highest
// warden_autoban strike count its refusals reached on this node.
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
    // As sent; only its first kMaxUserAgent bytes count (two that differ only later are one).
    std::string_view user_agent;
    uint32_t strikes = 0;  // the warden_autoban strike count this request's refusal reached
    int decision = -1;     // the glue's decision index (NodeStats::DecisionName); -1: none
    int cause = 0;         // a block's cause: 1 + NodeStats' cause index; 0: none
  };
  // The address's counts, and what needs no slot of its own: the highest strike count and its
  // user agent candidate (Misra–Gries, one counter).
  struct Counts {
    uint32_t requests;
    uint32_t refused;
    char country[2];
    uint16_t strikes;   // saturating
    uint32_t ua_count;  // 0: no user agent
    uint64_t ua_hash;   // UserAgentHash(): the text's hash, its lowest bit set when truncated
  };
  struct Detail {
    uint32_t status_3xx;  // 2xx is what is left of the requests (with the rare 1xx and 000)
    uint32_t status_4xx;
    uint32_t status_5xx;
    uint32_t upstream_ms;  // saturating: an address's time in one flush interval
    uint64_t bytes;
  };
  static constexpr uint8_t kDetailTag = 'd';
  struct Profile {
    uint64_t path_bits[2];  // DistinctPaths' words
    uint64_t unused;
  };
  static constexpr uint8_t kProfileTag = 'x';
  // A Misra–Gries summary of the address's paths (their hashes): two candidates.
  struct TopPaths {
    uint64_t hash[2];
    uint32_t count[2];  // 0: no candidate
  };
  static constexpr uint8_t kTopPathsTag = 'y';
  // A user agent's text, NUL-padded: kUserAgentChunks slots keyed kUserAgentTag, its 8-byte
  // hash and the chunk's number (fewer for a short one).
  static constexpr uint8_t kUserAgentTag = 'U';
  static constexpr size_t kUserAgentChunks = 5;
  static constexpr size_t kMaxUserAgent = kUserAgentChunks * ShmMap::kValueBytes;  // 120 bytes
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
  // The node's decisions (and block causes) since the last flush, folded with the counts so
  // the two always go to Redis together: kDecided counters over two slots keyed kDecidedTag
  // and the slot's number.
  static constexpr size_t kDecided = NodeStats::kDecisions + NodeStats::kBlockCauses;
  static constexpr size_t kDecidedPerSlot = ShmMap::kValueBytes / sizeof(uint32_t);
  static constexpr uint8_t kDecidedTag = 'D';

  TrafficCounter(ShmMap* map, int32_t pid) : map_(map), pid_(pid) {}

  void Count(const IpAddress& addr, const Sample& sample, int64_t now_ms);
  // Moves this worker's pending counts into shared memory (every tick, and at exit).
  void Fold();
  // Leader only: sends the counts and decisions gathered since the last flush, counted in
  // `minute` (Unix seconds / 60 by Redis's clock, as the node estimates it: the keys are named
  // before the script runs); one script call per batch.
  void Flush(AsyncClient* redis, const RedisSchema& schema, int64_t minute);
  // The node's decisions since the last flush ("pass=12 block=3 country=1"), cleared. Needs
  // the zone's lock held (Flush takes it).
  std::string TakeDecided();

  // What the zone holds on one address beyond its counts, as a flush sends it.
  struct AddressProfile {
    DistinctPaths paths;
    std::string top_path;  // "" when none (or its text was evicted)
    uint32_t top_path_count = 0;
    std::string user_agent;  // "" when none; a truncated one ends in "..."
    uint32_t user_agent_count = 0;
    uint32_t strikes = 0;
  };
  // Reads the address's profile and clears it for the next flush. Needs the zone's lock held
  // (Flush takes it; tests take it around the call).
  AddressProfile TakeProfile(const IpAddress::Bytes& addr);

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
    uint32_t strikes;
    DistinctPaths paths;
    TopPaths top;
    // The user agent candidate (Misra–Gries, one): its hash, count and text.
    uint64_t ua_hash;
    uint32_t ua_count;
    uint8_t ua_len;
    char ua_text[kMaxUserAgent];
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
  void FoldPathsLocked(Pending& p);
  void StoreUserAgentLocked(const Pending& p);
  static void CountUserAgent(Pending& p, std::string_view user_agent);
  // Returns the path's hash.
  uint64_t CountPath(const Sample& sample, int64_t now_ms);
  void FoldPathLocked(PendingPath& p);
  // The text of a path in the zone ("" when its slots were evicted meanwhile).
  std::string PathText(uint64_t hash, const PathCounts& counts);
  std::string UserAgentText(uint64_t hash);

  ShmMap* map_;
  int32_t pid_;
  bool in_flight_ = false;
  uint32_t decided_[kDecided] = {};
  int64_t decided_ms_ = 0;  // the last decision counted since the last fold (0: none)
  std::array<Pending, kPendingSlots> pending_{};
  std::array<PendingPath, kPendingPaths> pending_paths_{};
};

}  // namespace warden
