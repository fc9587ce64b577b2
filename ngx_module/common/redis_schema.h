#pragma once

#include <string>

namespace warden {

// Names of Warden's Redis keys under one prefix (default "warden:"), and the server-side
// scripts that change them. Every change to the blacklist goes through kApplyChangesScript so
// the hash, the expiry index, the sequence number and the change stream move together.
// docs/redis-keys.md describes the schema for operators.
class RedisSchema {
 public:
  explicit RedisSchema(std::string prefix = "warden:") : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::string BlacklistEntries() const { return prefix_ + "bl:entries"; }
  std::string BlacklistExpiry() const { return prefix_ + "bl:expiry"; }
  std::string BlacklistSeq() const { return prefix_ + "bl:seq"; }
  std::string BlacklistLog() const { return prefix_ + "bl:log"; }
  std::string BlacklistEpoch() const { return prefix_ + "bl:epoch"; }
  // The epoch an operator accepted (`warden sync --accept-empty`): nodes that hold their list
  // against a reload that would drop most of it let it go for this epoch.
  std::string BlacklistAccept() const { return prefix_ + "bl:accept"; }
  // The primary a sidecar last found through Sentinel ("host:port"), and the last change of it
  // a sidecar saw (JSON {"from", "to", "at_ms"}): `warden status` (sidecar/storage/redis/
  // primary_record.h).
  std::string TopologyPrimary() const { return prefix_ + "topology:primary"; }
  std::string TopologyFailover() const { return prefix_ + "topology:failover"; }

  // The change stream keeps about this many changes; a node further behind reloads in full.
  static constexpr long kLogMaxLen = 100000;

  // KEYS: entries, expiry, seq, log, epoch.
  // ARGV: log max length, epoch to set if none yet, then groups of four:
  //   op ("add" | "del"), entry (canonical CIDR), expires_ms ("0" = never), value.
  // Returns {last sequence number, number of entries changed}. A "del" of an entry that is not
  // there changes nothing and is not logged.
  static const char* const kApplyChangesScript;

  // KEYS: entries, expiry, seq, log, epoch. ARGV: log max length, now_ms, limit.
  // Deletes (and logs) up to `limit` entries whose expiry has passed. Returns how many.
  static const char* const kPurgeExpiredScript;

  // An automatic ban (warden_autoban, warden_behaviour). KEYS: entries, expiry, seq, log,
  // epoch, the address's ban counter. ARGV: log max length, epoch to set if none, entry, base
  // ban ms, factor, max ban ms, reason head, reason tail, node, source (default autoban). The n-th
  // ban of an address within the counter's memory (a day, or twice the longest ban) lasts base x
  // factor^(n-1), at most max; its reason is head .. n .. tail; it is written and streamed like any
  // change. Returns {n, ban ms}.
  static const char* const kAutobanScript;

  // Per-address traffic of one node since its last flush. KEYS: none. ARGV: prefix, retention
  // ms, then groups of four: address, requests, refused, country ("" if unknown). Adds to the
  // current minute's "top:req:<minute>" and "top:ref:<minute>" sorted sets and notes the
  // country in "top:cc:<minute>"; all three expire after the retention.
  static const char* const kTrafficScript;

  // Requests under sync=exact: limit_req's decisions taken in Redis, atomically, by Redis's
  // clock, in order (one call carries the requests of one event-loop turn). KEYS: the buckets,
  // one per group of simultaneous requests (repeats allowed). ARGV: rate, burst (x 1000) and
  // the group's request count, per key. Returns per key the level (x 1000) its first request
  // made; LeakyBucket::Simultaneous gives every request's verdict from it, and the script
  // stores the level the last accepted one left.
  static const char* const kLimitExactScript;

  // Interval sync of a rate-limit zone. KEYS: the buckets ("rl:<zone>:<hex key>").
  // ARGV: rate (requests per second x 1000), the push interval (ms), then per key the requests
  // granted since the last push. Adds the counts to each bucket and leaks it by Redis's clock for
  // the time since the last push, over which the requests arrived (a key's first request is free);
  // returns the levels (x 1000). A bucket is the string "<level>:<unix ms>", expiring once drained.
  static const char* const kLimitSyncScript;

  // KEYS: epoch, seq, log. ARGV: a stream id the caller last applied (or ""), an epoch to set
  // if none exists yet (so the first reader and the first writer agree on one).
  // Returns {epoch, seq, last stream id or "0-0", 1 if ARGV[1] is still in the log}.
  static const char* const kSyncHelloScript;

 private:
  std::string prefix_;
};

}  // namespace warden
