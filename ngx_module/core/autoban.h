#pragma once

#include <cstdint>
#include <string>

#include "common/address.h"
#include "common/redis_schema.h"
#include "core/async_client.h"
#include "core/ban_queue.h"
#include "core/blacklist_table.h"
#include "core/shm_map.h"

namespace warden {

struct AutobanRule : BanPolicy {
  std::string zone;  // the warden_limit_zone whose rejections count as strikes
  uint32_t strikes = 5;
  int64_t findtime_ms = 60000;
};

// fail2ban's semantics in the module: an address refused `strikes` times within `findtime`
// by a rate limit is banned for `bantime`, on every node. Strikes are counted per node in
// shared memory (a sliding window of two fixed windows). The ban applies on this node at once
// and goes to Redis, which makes repeat bans longer and streams the ban to the fleet.
class Autoban {
 public:
  struct Strikes {
    int64_t window_start_ms;
    uint32_t current;
    uint32_t previous;
    int64_t banned_until_ms;  // this node already banned the address: no second ban
  };

  Autoban(AutobanRule rule, ShmMap* strikes, BlacklistTable* blacklist, std::string node_name,
          int32_t pid, LogFn log = nullptr);

  // Counts one refused request from `addr`; true when that made it a ban. `strikes` (may be
  // null) gets the address's strike count now, rounded down (the rule's `strikes` when it made
  // the ban; 0 when it was banned already).
  bool Strike(const IpAddress& addr, int64_t now_ms, uint32_t* strikes = nullptr);
  // What a strike from `addr` counts against and bans: the address, or its IPv6 network.
  Cidr Scope(const IpAddress& addr) const;

  // Sends bans not yet in Redis. Called from the worker's tick; `redis` may be null.
  void Flush(AsyncClient* redis, const RedisSchema& schema);

  const AutobanRule& rule() const { return rule_; }
  uint64_t bans() const { return bans_; }
  // Bans that did not get into Redis because the queue was full (logged as they happen).
  uint64_t dropped() const { return queue_.dropped(); }

  static constexpr size_t kMaxQueued = BanQueue::kMaxQueued;

 private:
  AutobanRule rule_;
  ShmMap* strikes_;
  BlacklistTable* blacklist_;
  int32_t pid_;
  BanQueue queue_;
  uint64_t bans_ = 0;
};

}  // namespace warden
