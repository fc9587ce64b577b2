#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "common/address.h"
#include "common/redis_schema.h"
#include "core/async_client.h"
#include "core/blacklist_table.h"

namespace warden {

// What an automatic ban covers: the client's address, or its IPv6 network of `ipv6_prefix`
// bits (so a client rotating addresses inside its /64 neither escapes nor fills a zone). Only
// global unicast (2000::/3) is widened: a network around ::1, ::/96 or ::ffff:0:0/96
// (IPv4-mapped), 64:ff9b::/96 (NAT64) and the like would hold IPv4 clients, or everyone.
Cidr BanScope(const IpAddress& addr, int ipv6_prefix);

// One automatic ban: enforced on this node at once with its base time, then sent to Redis,
// where kAutobanScript counts the scope's bans under `history` (for escalation), makes the
// n-th last `bantime × factor^(n-1)` up to `maxtime`, writes the entry with the reason
// `reason_head` + n + `reason_tail`, and streams it to the fleet.
struct BanRequest {
  Cidr scope;
  int64_t bantime_ms = 600000;
  double factor = 2;
  int64_t maxtime_ms = 7LL * 24 * 3600 * 1000;
  std::string history;  // the ban counter (RedisSchema::AutobanHistory, BehaviourHistory)
  std::string reason_head;
  std::string reason_tail;
  EntrySource source = EntrySource::kAutoban;  // kChallenge: challenged, not refused
};

// How long an automatic ban lasts and what it covers: what warden_autoban's and
// warden_behaviour's rules share (bantime=, factor=, maxtime=, ipv6_prefix=).
struct BanPolicy {
  int64_t bantime_ms = 600000;
  double factor = 2;       // each repeat ban lasts `factor` times longer...
  int64_t maxtime_ms = 0;  // ...up to this (0: 7 days)
  // An IPv6 client is counted and banned by its network of this length (64: its /64, so a
  // client rotating addresses inside it neither escapes nor fills the zone); IPv4 clients and
  // ::1 always by their address. Out of 1..127: by its address.
  int ipv6_prefix = 64;

  Cidr Scope(const IpAddress& addr) const { return BanScope(addr, ipv6_prefix); }
  // A ban of `scope` under this policy; the caller adds its history key and reason.
  BanRequest Request(const Cidr& scope) const;
};

// The bans of one rule (an autoban, a behaviour rule) on their way to Redis, one at a time,
// from the worker where they fell. `what` names the rule in log lines ("autoban").
class BanQueue {
 public:
  BanQueue(BlacklistTable* blacklist, std::string node_name, int32_t pid, LogFn log,
           std::string what);

  void Ban(BanRequest request, int64_t now_ms);
  // Sends the bans not yet in Redis, one script call in flight at a time; `redis` may be null.
  void Flush(AsyncClient* redis, const RedisSchema& schema);

  // Bans that did not get into Redis because the queue was full (logged as they happen).
  uint64_t dropped() const { return dropped_; }
  size_t queued() const { return queued_.size(); }

  static constexpr size_t kMaxQueued = 1000;

 private:
  BlacklistTable* blacklist_;
  std::string node_name_;
  int32_t pid_;
  LogFn log_;
  std::string what_;
  std::deque<BanRequest> queued_;
  bool in_flight_ = false;
  uint64_t dropped_ = 0;
};

}  // namespace warden
