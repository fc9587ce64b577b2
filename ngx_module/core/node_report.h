#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace warden {

// What one nginx node tells the fleet about itself once a second: its leader worker writes it
// to Redis ("ng:node:<node>", docs/redis-keys.md) for the console's nodes, rate-limit zones and
// ban propagation. Plain data, bounded whatever the traffic: a few dozen numbers per zone and
// connection, and the last kApplied changes applied.
struct NodeReport {
  // Outcomes counted per rate-limit zone (ShmMap counters), in this order.
  enum LimitOutcome {
    kPassed = 0,
    kDelayed = 1,
    kRejected = 2,
    kDryRun = 3,     // would have been rejected or delayed (warden_limit_dry_run)
    kFailOpen = 4,   // sync=exact, Redis did not answer: decided here (also counted above)
    kFailClosed = 5  // the same with warden_limit_fail closed: refused
  };
  static constexpr size_t kLimitOutcomes = 6;
  static constexpr size_t kApplied = 32;

  struct Blacklist {
    bool present = false;  // no blacklist zone: no Redis either
    uint64_t seq = 0;      // the last change from Redis applied here
    uint64_t entries = 0;
    uint64_t capacity = 0;
    uint64_t dropped = 0;  // did not fit
    std::string epoch;
    bool loaded = false;
    bool reload_held = false;
    int64_t loaded_at_ms = 0;
    int64_t last_contact_ms = 0;  // Redis last answered the sync (0: never)
  };
  // A blacklist change this node applied from the stream, and when (this node's clock).
  struct Applied {
    uint64_t seq = 0;
    int64_t at_ms = 0;
  };
  struct SharedZone {
    std::string name;
    uint64_t used = 0;      // entries
    uint64_t capacity = 0;  // entries it holds
    uint64_t bytes = 0;
  };
  struct Connection {
    std::string purpose;
    bool connected = false;
    uint64_t errors = 0;
    std::string last_error;  // never a password: hiredis's and Redis's own words
    int64_t last_error_ms = 0;
  };
  struct Limit {
    std::string zone;
    std::string mode;  // local, sync=<ms>ms, exact
    uint64_t keys = 0;
    std::array<uint64_t, kLimitOutcomes> counts{};
  };

  std::string node;
  int32_t pid = 0;  // the leader worker's
  std::string nginx_version;
  int workers = 0;
  int64_t started_ms = 0;  // when the leader worker started (the last start or reload)
  int64_t now_ms = 0;
  // Redis's clock minus this node's, measured at the last heartbeat (0 before the first):
  // times applied here plus this are on the clock of a ban's added time.
  int64_t clock_offset_ms = 0;
  Blacklist blacklist;
  std::vector<Applied> applied;  // oldest first
  std::vector<SharedZone> shm;
  std::vector<Connection> redis;
  std::vector<Limit> limits;
  std::vector<std::pair<std::string, uint64_t>> decisions;  // totals since the node started

  // The JSON object stored in Redis (keys in docs/redis-keys.md); invalid UTF-8 is replaced.
  std::string ToJson() const;
  static const char* LimitOutcomeName(size_t outcome);
};

// The last NodeReport::kApplied blacklist additions applied on this node, with their times.
class AppliedRing {
 public:
  void Add(uint64_t seq, int64_t at_ms) {
    ring_[next_ % ring_.size()] = {seq, at_ms};
    ++next_;
  }
  // Oldest first.
  std::vector<NodeReport::Applied> Read() const;

 private:
  std::array<NodeReport::Applied, NodeReport::kApplied> ring_{};
  size_t next_ = 0;
};

}  // namespace warden
