#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace warden {

struct RedisDeployment;

// Names of Warden's Redis keys under one prefix (default "warden:"), and the server-side
// scripts that change them. Every change to the blacklist goes through kApplyChangesScript so
// the hash, the expiry index, the sequence number and the change stream move together.
// docs/redis-keys.md describes the schema for operators.
//
// Two layouts. kSingle (one server, or a Sentinel's primary): the names as they have always
// been. kCluster (cluster://): hash tags, so that every key one script call touches lives in
// one slot of a Redis Cluster: the blacklist's keys and the ban counters in "{bl}", the nginx
// nodes' heartbeats in "{ng}", the console's series in "{ts}", a minute's traffic counts in
// "{<minute>}", a job's keys in "{<job>}"; a limit bucket has no tag, so buckets spread over
// the shards. Both sides derive the layout from the deployment (For), never from a setting of
// its own, so a node and a sidecar of one deployment always agree.
class RedisSchema {
 public:
  enum class Layout { kSingle, kCluster };

  explicit RedisSchema(std::string prefix = "warden:", Layout layout = Layout::kSingle)
      : prefix_(std::move(prefix)), layout_(layout) {}
  // The layout a deployment needs: kCluster for cluster://, kSingle otherwise.
  static RedisSchema For(const RedisDeployment& deployment, std::string prefix);
  // A prefix for this layout: in a cluster Warden places the hash tags itself, and a '{' or '}'
  // of the prefix's would pin every key to one slot (or split a script's keys). On failure `why`
  // says so.
  static bool CheckPrefix(std::string_view prefix, Layout layout, std::string* why);

  const std::string& prefix() const { return prefix_; }
  Layout layout() const { return layout_; }
  bool cluster() const { return layout_ == Layout::kCluster; }

  std::string BlacklistEntries() const { return Group("bl") + ":entries"; }
  std::string BlacklistExpiry() const { return Group("bl") + ":expiry"; }
  std::string BlacklistSeq() const { return Group("bl") + ":seq"; }
  std::string BlacklistLog() const { return Group("bl") + ":log"; }
  std::string BlacklistEpoch() const { return Group("bl") + ":epoch"; }
  // The epoch an operator accepted (`warden sync --accept-empty`): nodes that hold their list
  // against a reload that would drop most of it let it go for this epoch.
  std::string BlacklistAccept() const { return Group("bl") + ":accept"; }

  // An address's automatic-ban counter (escalation), written by kAutobanScript with the
  // blacklist's keys: `history` is AutobanHistory() (warden_autoban) or BehaviourHistory()
  // (warden_behaviour), which the module's rules build without a schema.
  std::string BanCounter(std::string_view history) const;
  static std::string AutobanHistory(std::string_view zone, std::string_view scope);
  static std::string BehaviourHistory(std::string_view rule, std::string_view scope);
  // A warden_behaviour rule's hot buckets (a sorted set each nginx worker pushes to).
  std::string BehaviourHot(std::string_view rule) const {
    return prefix_ + "bh:hot:" + std::string(rule);
  }

  // A warden_limit_zone's fleet-wide bucket for one key (the bytes nginx keyed it by, hex
  // here): "rl:<zone>:<hex key>". In a cluster "rl:{<tag>}:<zone>:<hex key>", the tag one of
  // kLimitBucketGroups, chosen by a hash of the rest: the buckets of one worker's event-loop
  // turn that share a group go in one script call (one call per bucket costs a Redis shard
  // about twice the CPU per request), and the groups, each on a slot of its own 64th of the
  // slot space, spread over a cluster's primaries, up to that many.
  std::string LimitBucket(std::string_view zone, std::string_view key) const;
  static constexpr int kLimitBucketGroups = 64;
  // The hash tag of a cluster's bucket group `group` (0 .. kLimitBucketGroups - 1): the first
  // text "b<group>.<n>" whose slot lies in the group's 64th of the slot space.
  static const std::string& LimitBucketTag(int group);

  // The families of the per-minute traffic counts (`warden top`), in the order kTrafficScript
  // takes their keys.
  static constexpr std::array<const char*, 20> kTrafficFamilies = {
      "req", "ref",  "cc",   "s2xx", "s3xx",  "s4xx",  "s5xx",  "bytes", "up",  "cty",
      "sum", "path", "p5xx", "pup",  "dpath", "apath", "tpath", "aua",   "tua", "strikes"};
  // One family's key for one minute (Unix seconds / 60): "top:req:<minute>"; in a cluster
  // "top:req:{<minute>}", so a minute's keys share a slot and the minutes spread.
  std::string TrafficKey(std::string_view family, int64_t minute) const;
  // Every family's key for `minute`, in kTrafficFamilies's order: kTrafficScript's KEYS.
  std::vector<std::string> TrafficKeys(int64_t minute) const;

  // A sidecar's heartbeat (JSON, expires), and every sidecar by its last heartbeat (the console).
  std::string SidecarNode(const std::string& node) const { return prefix_ + "sc:node:" + node; }
  std::string SidecarNodes() const { return prefix_ + "sc:nodes"; }
  // An nginx node's heartbeat (JSON written by its leader worker, expires), and every nginx
  // node by its last heartbeat (the console's nodes, limits and ban propagation).
  std::string NginxNode(const std::string& node) const { return Group("ng") + ":node:" + node; }
  std::string NginxNodes() const { return Group("ng") + ":nodes"; }
  // The fleet's traffic per second (15 min) and per minute (24 h), and the sidecar that writes
  // them (the console's time series).
  std::string TrafficSeconds() const { return Group("ts") + ":s"; }
  std::string TrafficMinutes() const { return Group("ts") + ":m"; }
  std::string TrafficWriter() const { return Group("ts") + ":writer"; }
  // The primary a sidecar last found through Sentinel ("host:port"), and the last change of it
  // a sidecar saw (JSON {"from", "to", "at_ms"}): `warden status` (sidecar/storage/redis/
  // primary_record.h).
  std::string TopologyPrimary() const { return prefix_ + "topology:primary"; }
  std::string TopologyFailover() const { return prefix_ + "topology:failover"; }

  // One of a scheduled job's keys ("claimed", "leases", "fence"...: scheduler/
  // redis_coordinator.h): "job:<name>:<what>"; in a cluster "job:{<name>}:<what>", a job's keys
  // in one slot, the jobs spread.
  std::string JobKey(std::string_view job, std::string_view what) const;

  // The warm lock of a `[[cache]]` key (the key itself is the operator's, unprefixed, read by
  // nginx as it is): "<key>:lock"; in a cluster in the key's slot: "<key>:lock" when the key has
  // a hash tag, "{<key>}:lock" otherwise.
  std::string CacheLock(std::string_view key) const;
  // Whether a cache key's lock can share its slot: in a cluster, a key with a '}' but no hash
  // tag cannot (no tag names its slot). On failure `why` says what to do.
  static bool CheckCacheKey(std::string_view key, Layout layout, std::string* why);

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

  // Per-address traffic of one node since its last flush, counted in one minute. KEYS:
  // TrafficKeys(minute), the minute's key of each family in kTrafficFamilies's order (one slot in
  // a cluster). ARGV: the minute (the node's clock corrected by Redis's, so the node knows the
  // keys before it sends), retention ms, the node's decisions since its last flush ("pass=12
  // block=3 country=1", maybe empty), the number of address groups, then those groups of
  // sixteen: address, requests, refused, country ("" if unknown), responses 2xx, 3xx, 4xx, 5xx,
  // bytes sent, upstream ms, its distinct paths (DistinctPaths::ToHex, "" if none), its top path
  // and that path's count ("" and 0 if none), its user agent and its count (likewise), its
  // highest autoban strike count; then groups of four per path: path, requests, 5xx, upstream
  // ms, added to the sorted sets "path", "p5xx" and "pup". Adds to the sorted sets by address
  // "req", "ref", "s2xx|s3xx|s4xx|s5xx", "bytes" and "up" (only what is not 0), notes the
  // country in the hash "cc", adds the requests per country to "cty" ("-": unknown) and the
  // fleet's totals (requests, refused, s2xx..., bytes, up, and "d:<decision>") to the hash
  // "sum"; ORs the distinct paths into the hash "dpath" (address -> hex), counts
  // "<address>\t<path>" in the sorted set "apath" and keeps each address's most counted one in
  // the hash "tpath" ("<count>\t<path>"), the same for user agents in "aua" and "tua", and the
  // highest strikes in the sorted set "strikes". Everything expires after the retention.
  // Returns the minute.
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
  // stores the level the last accepted one left. Each key is handled alone: in a cluster a
  // caller sends one call per slot (per bucket group, LimitBucket), pipelined per node.
  static const char* const kLimitExactScript;

  // Interval sync of a rate-limit zone. KEYS: the buckets ("rl:<zone>:<hex key>").
  // ARGV: rate (requests per second x 1000), the push interval (ms), then per key the requests
  // granted since the last push. Adds the counts to each bucket and leaks it by Redis's clock for
  // the time since the last push, over which the requests arrived (a key's first request is free);
  // returns the levels (x 1000). A bucket is the string "<level>:<unix ms>", expiring once drained.
  // Each key alone, as kLimitExactScript: one call per slot in a cluster.
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
  // The prefix and a group's name, in braces (a hash tag) in a cluster: "warden:{bl}".
  std::string Group(std::string_view name) const;

  std::string prefix_;
  Layout layout_;
};

}  // namespace warden
