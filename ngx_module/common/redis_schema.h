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
  // A sidecar's heartbeat (JSON, expires), and every sidecar by its last heartbeat (the console).
  std::string SidecarNode(const std::string& node) const { return prefix_ + "sc:node:" + node; }
  std::string SidecarNodes() const { return prefix_ + "sc:nodes"; }
  // An nginx node's heartbeat (JSON written by its leader worker, expires), and every nginx
  // node by its last heartbeat (the console's nodes, limits and ban propagation).
  std::string NginxNode(const std::string& node) const { return prefix_ + "ng:node:" + node; }
  std::string NginxNodes() const { return prefix_ + "ng:nodes"; }
  // The fleet's traffic per second (15 min) and per minute (24 h), and the sidecar that writes
  // them (the console's time series).
  std::string TrafficSeconds() const { return prefix_ + "ts:s"; }
  std::string TrafficMinutes() const { return prefix_ + "ts:m"; }
  std::string TrafficWriter() const { return prefix_ + "ts:writer"; }
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
  // there changes nothing and is not logged, nor does an "add" of a feed's ban (a v1 value of
  // source "feed") over an allow entry (v2).
  static const char* const kApplyChangesScript;

  // KEYS: entries, expiry, seq, log, epoch. ARGV: log max length, now_ms, limit.
  // Deletes (and logs) up to `limit` entries whose expiry has passed. Returns how many.
  static const char* const kPurgeExpiredScript;

  // An automatic ban (warden_autoban, warden_behaviour). KEYS: entries, expiry, seq, log,
  // epoch, the address's ban counter. ARGV: log max length, epoch to set if none, entry, base
  // ban ms, factor, max ban ms, reason head, reason tail, node, source (default autoban). The n-th
  // ban of an address within the counter's memory (a day, or twice the longest ban) lasts base x
  // factor^(n-1), at most max; its reason is head .. n .. tail; it is written and streamed like any
  // change. Returns {n, ban ms}, or {0, 0} when the entry is on the allow list (not banned).
  static const char* const kAutobanScript;

  // Per-address traffic of one node since its last flush. KEYS: none. ARGV: prefix, retention
  // ms, the node's decisions since its last flush ("pass=12 block=3 country=1", maybe empty),
  // the number of address groups, then those groups of sixteen: address, requests, refused,
  // country ("" if unknown), responses 2xx, 3xx, 4xx, 5xx, bytes sent, upstream ms, its
  // distinct paths (DistinctPaths::ToHex, "" if none), its top path and that path's count
  // ("" and 0 if none), its user agent and its count (likewise), its highest autoban strike
  // count; then groups of four per path: path, requests, 5xx, upstream ms, added to the sorted
  // sets "top:path:<minute>", "top:p5xx:<minute>" and "top:pup:<minute>". Adds, for the current
  // minute, to the sorted sets by address "top:req:<minute>", "top:ref:<minute>",
  // "top:s2xx|s3xx|s4xx|s5xx:<minute>", "top:bytes:<minute>" and "top:up:<minute>" (only what
  // is not 0), notes the country in the hash "top:cc:<minute>", adds the requests per country
  // to "top:cty:<minute>" ("-": unknown) and the fleet's totals (requests, refused, s2xx...,
  // bytes, up, and "d:<decision>") to the hash "top:sum:<minute>"; ORs the distinct paths into
  // the hash "top:dpath:<minute>" (address -> hex), counts "<address>\t<path>" in the sorted
  // set "top:apath:<minute>" and keeps each address's most counted one in the hash
  // "top:tpath:<minute>" ("<count>\t<path>"), the same for user agents in "top:aua:<minute>"
  // and "top:tua:<minute>", and the highest strikes in the sorted set "top:strikes:<minute>".
  // Everything expires after the retention. Returns the minute.
  static const char* const kTrafficScript;
  // Lua: merge_bits(a, b), two distinct-path sketches (common/distinct_paths.h, 32 hex digits)
  // OR-ed, b alone when a is not one; the traffic script starts with it, and a script that reads
  // the sketches back prepends it.
  static const char* const kMergeSketchesLua;

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

  // An nginx node's heartbeat. KEYS: the node's key ("ng:node:<node>"), the set of nodes
  // ("ng:nodes"). ARGV: the report (JSON), its time to live (ms), how long a silent node stays
  // in the set (ms), the node's name. Stores the report, scores the node by Redis's clock and
  // drops nodes silent for longer than that. Returns Redis's time (Unix ms).
  static const char* const kNodeHeartbeatScript;

  // KEYS: epoch, seq, log. ARGV: a stream id the caller last applied (or ""), an epoch to set
  // if none exists yet (so the first reader and the first writer agree on one).
  // Returns {epoch, seq, last stream id or "0-0", 1 if ARGV[1] is still in the log}.
  static const char* const kSyncHelloScript;

 private:
  std::string prefix_;
};

}  // namespace warden
