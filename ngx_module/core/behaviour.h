#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/address.h"
#include "common/redis_schema.h"
#include "core/async_client.h"
#include "core/ban_queue.h"
#include "core/blacklist_table.h"
#include "core/shm_map.h"

namespace warden {

enum class BehaviourDecision : uint8_t { kBan = 0, kChallenge = 1, kLog = 2 };
const char* BehaviourDecisionName(BehaviourDecision decision);

// One `warden_behaviour` rule: the responses that count (chosen by the glue: statuses,
// extensions, a variable) fill a leaky bucket per client scope; the event that overflows it
// gets the rule's decision.
struct BehaviourRule : BanPolicy {
  std::string name;
  uint32_t capacity = 10;      // events the bucket holds; the one after overflows it
  int64_t leak_ms = 10000;     // one event leaks out every leak_ms
  bool distinct_path = false;  // only a path not seen since the bucket was last empty counts
  BehaviourDecision decision = BehaviourDecision::kBan;
  // Opt-in: once this many addresses of one IPv4 /24 got the decision (on this node, within
  // bantime), the /24 gets it too. 0: off.
  uint32_t ipv4_subnet = 0;
};

// The buckets of one rule in shared memory (a ShmMap after a small header of node-wide
// counters), the ban path shared with autoban (BanQueue: this node at once, then Redis with
// escalation), and, per worker, the evidence: the last few matched events of each client,
// which become the ban's reason.
//
// distinct=path keeps a 64-bit set of path hashes per bucket (one bit per path, hash mod 64),
// emptied when the bucket drains. Two paths on one bit count once, and a set whose bits are
// all taken counts nothing more until the bucket drains: the approximation can only
// under-count, so it never bans early. That is why a distinct rule's capacity is at most 32.
class Behaviour {
 public:
  struct Bucket {
    int64_t updated_ms;
    float level;      // events in the bucket at updated_ms
    uint32_t events;  // counted since the bucket was last empty
    uint64_t paths;   // distinct=path: the set of path hashes
  };
  static_assert(sizeof(Bucket) == ShmMap::kValueBytes);

  // Node-wide counters at the start of the rule's region, for warden_status.
  struct Counters {
    uint64_t magic;
    std::atomic<uint64_t> events;     // responses that matched the rule
    std::atomic<uint64_t> decisions;  // overflows that got the rule's decision
  };
  static constexpr size_t kCountersBytes = 64;
  static_assert(sizeof(Counters) <= kCountersBytes);
  static constexpr uint32_t kMaxDistinctCapacity = 32;
  static constexpr size_t kEvidence = 5;
  static constexpr size_t kEvidenceClients = 4096;
  static constexpr size_t kEvidencePathBytes = 64;

  enum class Outcome {
    kRepeat,         // distinct=path: a path already counted; the bucket did not rise
    kCounted,        // the bucket rose and holds
    kOverflow,       // the bucket overflowed: the rule's decision applies (and `reason` says why)
    kAlreadyBanned,  // it overflowed, but the scope is on this node's blacklist already
  };
  struct Result {
    Outcome outcome = Outcome::kCounted;
    Cidr scope;
    std::string reason;  // kOverflow: "behaviour probe: 11 events ...: 404 /.env, ..."
    std::string subnet;  // ipv4_subnet: the /24 that got the decision with this one, if any
  };

  // Formats (or, with the same layout, keeps) a rule's region; returns its bucket slots.
  static size_t Format(void* region, size_t bytes);

  Behaviour(BehaviourRule rule, void* region, size_t bytes, BlacklistTable* blacklist,
            std::string node_name, int32_t pid, LogFn log = nullptr);
  bool attached() const { return map_.attached(); }

  // A response of `status` to `path` from `addr` matched the rule.
  Result Event(const IpAddress& addr, std::string_view path, int status, int64_t now_ms);
  Cidr Scope(const IpAddress& addr) const { return rule_.Scope(addr); }
  // The scope's bucket level by now (0 when it has none).
  double Level(const IpAddress& addr, int64_t now_ms);

  // Sends bans not yet in Redis. Called from the worker's tick; `redis` may be null.
  void Flush(AsyncClient* redis, const RedisSchema& schema) { queue_.Flush(redis, schema); }

  // The buckets this worker saw at least half full, for `warden behaviour status`: their fill
  // (level / capacity) by now, as pushed to the sorted set `bh:hot:<rule>` (member
  // "<scope>|<node>"); buckets drained below 5 % leave it.
  struct Hot {
    std::string scope;
    double fill;
  };
  std::vector<Hot> HotBuckets(int64_t now_ms, std::vector<std::string>* drained);
  // ZADD/ZREM of the hot buckets into `bh:hot:<rule>`, which expires a minute after the last
  // push. Called from the worker's tick every few seconds.
  void PushHot(AsyncClient* redis, const RedisSchema& schema, const std::string& node,
               int64_t now_ms);
  static constexpr size_t kMaxHot = 256;

  const BehaviourRule& rule() const { return rule_; }
  uint64_t events() const { return counters_ ? counters_->events.load() : 0; }
  uint64_t decisions() const { return counters_ ? counters_->decisions.load() : 0; }
  ShmMap::Stats stats() const { return map_.ReadStats(); }
  uint64_t dropped() const { return queue_.dropped(); }

  static uint64_t PathHash(std::string_view path);

 private:
  struct Seen {
    int status;
    std::string path;
  };
  void Remember(const std::string& key, int status, std::string_view path);
  // ipv4_subnet: counts a decision in the address's /24; the /24 when it is its turn.
  std::optional<Cidr> CountInSubnet(const IpAddress& addr, int64_t now_ms);
  void Decide(const Cidr& scope, const std::string& detail, int64_t now_ms);
  std::string Evidence(const std::string& key) const;

  BehaviourRule rule_;
  ShmMap map_;
  Counters* counters_ = nullptr;
  BlacklistTable* blacklist_;
  int32_t pid_;
  BanQueue queue_;
  std::unordered_map<std::string, std::deque<Seen>> evidence_;  // by bucket key, this worker's
  struct HotBucket {
    std::string scope;  // as text
    float level;        // when this worker last saw it
  };
  // The buckets this worker saw at least half full, by bucket key; their levels are read from
  // shared memory when pushed (every worker of the node sees the same).
  std::unordered_map<std::string, HotBucket> hot_;
  std::vector<std::string> gone_;  // drained since the last push: to leave the set
  void NoteLevel(const std::string& key, const Cidr& scope, float level);
};

}  // namespace warden
