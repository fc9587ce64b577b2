#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/cache_value.h"
#include "common/circuit_breaker.h"
#include "core/async_client.h"
#include "core/autoban.h"
#include "core/behaviour.h"
#include "core/blacklist_sync.h"
#include "core/blacklist_table.h"
#include "core/leaky_bucket.h"
#include "core/limit_sync.h"
#include "core/node_report.h"
#include "core/node_stats.h"
#include "core/rate_limiter.h"
#include "core/sentinel_locator.h"
#include "core/shm_map.h"
#include "core/traffic_counter.h"

namespace warden {

// Everything one nginx worker holds: views of the node's shared zones (the blacklist, one map
// per rate-limit zone) and, with Redis configured, the background work that keeps them in
// step with the fleet. The glue calls Tick() every next_tick_ms().
class Worker {
 public:
  Worker(int32_t pid, Clock clock, AsyncClient::AttachFn attach, LogFn log);
  ~Worker();

  // How this node is known to the fleet (warden_node; default the host name), what it runs,
  // for its heartbeat and its bans' reasons. Before AddAutoban and AddBehaviour.
  void SetNode(std::string name, std::string nginx_version, int workers);
  const std::string& node_name() const { return node_name_; }
  bool AttachBlacklist(void* region, size_t bytes);
  // Per-address traffic counts for `warden top`.
  bool AttachTraffic(void* region, size_t bytes);
  void CountTraffic(const IpAddress& addr, const TrafficCounter::Sample& sample, int64_t now_ms);
  bool counts_traffic() const { return traffic_ != nullptr; }
  // The node's counters; `worker` is nginx's worker number.
  bool AttachStats(void* region, size_t bytes, int worker);
  // `cause` (WARDEN_CAUSE_*) tells a block's reason apart: blacklist, country or autoban.
  void CountDecision(int decision, int cause = 0) {
    if (!stats_row_) return;
    NodeStats::CountDecision(stats_row_, decision);
    if (cause) stats_.CountBlock(worker_, cause);
  }
  // Prometheus text exposition of the node's state.
  std::string Metrics(int64_t now_ms);
  // Returns the zone's index, or -1 when the region is too small.
  int AddLimitZone(const std::string& name, void* region, size_t bytes, int64_t rate,
                   int64_t sync_ms);
  // Returns the rule's index, or -1 when the region is too small or the zone unknown.
  int AddAutoban(int limit_zone, AutobanRule rule, void* region, size_t bytes);
  // Starts the Redis side: the blacklist sync and the leader's pushes of limit counts.
  void ConnectRedis(const RedisEndpoint& endpoint);

  const BlacklistTable* blacklist() const { return blacklist_.attached() ? &blacklist_ : nullptr; }
  LeakyBucketVerdict Limit(int zone, std::string_view key, const LeakyBucketParams& params,
                           int64_t now_ms);
  // A request's verdict from one zone, counted in the zone (once per request and zone):
  // passed, delayed, rejected, or dry run (would have been rejected or delayed); decided without
  // Redis under sync=exact also counts as fail-open (or fail-closed).
  void CountLimit(int zone, const LeakyBucketVerdict& verdict, bool dry_run, bool fail_closed);

  // sync=exact: a request Redis decides. Returns true when the request must wait for `done`
  // (called exactly once, `failed` when Redis did not answer); false when it was decided here
  // (`out`): refused from the local mirror at no cost to Redis, or, with Redis unavailable or
  // the circuit open, by this node alone (or refused, with `fail_closed`).
  using ExactDone = std::function<void(const LeakyBucketVerdict&, bool failed)>;
  bool LimitExact(int zone, std::string_view key, const LeakyBucketParams& params, int64_t now_ms,
                  bool fail_closed, LeakyBucketVerdict* out, ExactDone done);
  // A request gave up waiting for Redis: counts against the circuit.
  void ExactTimedOut() { breaker_.OnFailure(clock_()); }
  // Sends the requests LimitExact queued, in one script call per kExactBatch (in a Redis
  // Cluster, one per slot of its buckets, pipelined per node). The glue calls it once per
  // event-loop turn, after the turn's requests have been queued. To one server, while a call
  // is in flight the requests wait and go in the next call, sent when its reply is in: under
  // load a call carries all that arrived during a round trip, not one turn's few (Redis and
  // the worker pay per call), and an idle worker's request still goes at once.
  void FlushExact();
  bool exact_queued() const { return !exact_batch_.empty(); }
  static constexpr size_t kExactBatch = 256;
  // A call unanswered this long past its deadline has lost its reply (FlushExact).
  static constexpr int64_t kStaleCallSlackMs = 250;

  // warden_cache_serve: every worker reads warmed values over the request-path connection
  // (the one sync=exact uses), under the same circuit breaker. Before or after ConnectRedis.
  void EnableCache();
  enum class CacheResult { kHit, kMiss, kMalformed, kError };
  using CacheDone = std::function<void(CacheResult, const CacheValue*)>;
  // One HMGET of the value at `key` (as given: no prefix). Returns true when `done` will be
  // called exactly once, later, from the event loop (the value only lives during the call);
  // false when there is no connection or the circuit is open: the caller goes on at once.
  // Requests for a key whose read is on its way share that read and its answer (a hot key
  // costs Redis one HMGET per round trip, not one per request).
  bool CacheGet(std::string_view key, CacheDone done);
  void CountCache(int result) { stats_.CountCache(worker_, result); }
  void CountChallenge(int result) { stats_.CountChallenge(worker_, result); }
  // How long a request may wait for Redis (warden_redis timeout=); 0 without Redis.
  int64_t redis_timeout_ms() const { return endpoint_ ? endpoint_->timeout_ms : 0; }

  // A request from `addr` refused by a limit with an autoban rule; true when it got banned.
  // `strikes` (may be null) gets the address's strike count (Autoban::Strike).
  bool Strike(int autoban, const IpAddress& addr, int64_t now_ms, uint32_t* strikes = nullptr);

  // A warden_behaviour rule on its shared region; returns its index, -1 when the region is
  // too small.
  int AddBehaviour(BehaviourRule rule, void* region, size_t bytes);
  // A response that matched rule `behaviour`; an overflow with decision=ban is sent to Redis
  // at once, like an autoban.
  Behaviour::Result BehaviourEvent(int behaviour, const IpAddress& addr, std::string_view path,
                                   int status, int64_t now_ms);

  void Tick();
  void Shutdown();
  int64_t tick_ms() const { return tick_ms_; }
  // When to tick next: tick_ms(), or sooner while the Sentinel locator follows a promotion
  // (its probes of the replicas are due every PromotionWatch::kProbeEveryMs).
  int64_t next_tick_ms() const;

  // This node's heartbeat as the leader sends it (NodeReport, docs/redis-keys.md).
  NodeReport Report(int64_t now_ms) const;
  // How often the leader writes it to Redis, and how long it lives there.
  static constexpr int64_t kHeartbeatMs = 1000;
  static constexpr int64_t kHeartbeatTtlMs = 15000;
  static constexpr int64_t kForgetNodeMs = 24 * 3600 * 1000;

  static constexpr int64_t kTrafficFlushMs = 2000;
  // How often each worker pushes its fullest behaviour buckets (warden behaviour status).
  static constexpr int64_t kHotPushMs = 1000;

 private:
  void OpenRequestRedis();
  void SendHeartbeat(int64_t now_ms);
  void NotePrimary(const std::string& from, const std::string& to);
  CacheResult ReadCacheReply(const std::string& key, const redisReply* reply, CacheValue* value);
  void NoteMalformed(std::string_view key, CacheValue::Problem problem);

  struct Zone {
    std::string name;
    int64_t rate;
    int64_t sync_ms;  // 0: this node only
    ShmMap map;
    std::unique_ptr<RateLimiter> limiter;
    std::unique_ptr<LimitSync> sync;
  };

  int32_t pid_;
  Clock clock_;
  AsyncClient::AttachFn attach_;
  LogFn log_;
  // sentinel://: finds the primary for every connection below (declared first: it outlives
  // them).
  std::unique_ptr<SentinelLocator> locator_;
  BlacklistTable blacklist_;
  NodeStats stats_;
  NodeStats::Row* stats_row_ = nullptr;  // this worker's, once attached
  ShmMap traffic_map_;
  std::unique_ptr<TrafficCounter> traffic_;
  int64_t next_traffic_flush_ms_ = 0;
  int64_t next_hot_push_ms_ = 0;
  int worker_ = 0;
  std::unique_ptr<BlacklistSync> blacklist_sync_;
  std::unique_ptr<AsyncClient> commands_;
  // The cache reads on their way to Redis, by key, with the requests waiting on each
  // (declared before the connection whose callbacks use it).
  std::unordered_map<std::string, std::vector<CacheDone>> cache_reads_;
  std::unique_ptr<AsyncClient> exact_redis_;  // every worker with sync=exact zones or the cache
  std::optional<RedisEndpoint> endpoint_;     // set by ConnectRedis
  bool cache_enabled_ = false;
  uint32_t cache_problems_logged_ = 0;  // a bit per CacheValue::Problem
  CircuitBreaker breaker_;
  std::string exact_sha_;  // the exact script loaded on the current connection
  struct ExactRequest {
    RateLimiter* limiter;
    std::string stored_key;        // short keys (an address) need no allocation
    const std::string* zone_name;  // its Redis key is made once per group (FlushExact)
    LeakyBucketParams params;
    bool fail_closed;
    ExactDone done;
    size_t group = 0;   // FlushExact: its group in the script call
    int64_t place = 0;  // and its place in that group, in arrival order
  };
  // Requests of one batch for one bucket and limit, sent to Redis as one key with a count.
  struct ExactGroup {
    size_t first;  // index of its first request in the batch
    size_t last;   // and of its last
    int64_t count;
  };
  // One script call: its requests, their groups, and what follows the script in EVAL/EVALSHA.
  struct ExactCall {
    std::vector<ExactRequest> batch;
    std::vector<ExactGroup> groups;
    // EVAL|EVALSHA, the script or its digest, numkeys, the buckets, then rate, burst, count
    // per group
    std::vector<std::string> args;
  };
  // The call's args from its groups and their buckets' keys (one per group, in order).
  static void BuildExactArgs(ExactCall* call, std::vector<std::string> keys);
  void SendExact(std::shared_ptr<ExactCall> call, bool by_sha);
  // A call's reply (nullptr: none came): its requests' verdicts, or a retry, or failures.
  void AnswerExact(const std::shared_ptr<ExactCall>& sent, bool by_sha, redisReply* r);
  void FailExact(std::vector<ExactRequest>& batch);
  void LoadExactScript();
  std::vector<ExactRequest> exact_batch_;
  int exact_in_flight_ = 0;    // script calls sent and not answered
  int64_t exact_sent_ms_ = 0;  // when the last one went
  std::vector<std::unique_ptr<Zone>> zones_;
  struct Ban {
    ShmMap strikes;
    std::unique_ptr<Autoban> autoban;
  };
  std::vector<std::unique_ptr<Ban>> autobans_;
  std::vector<std::unique_ptr<Behaviour>> behaviours_;
  // every worker with autoban or behaviour rules: bans go out from where they fall
  std::unique_ptr<AsyncClient> autoban_redis_;
  std::unique_ptr<RedisSchema> schema_;
  std::string node_name_;
  std::string nginx_version_;
  int workers_ = 0;
  const int64_t started_ms_;
  std::vector<size_t> behaviour_bytes_;
  size_t blacklist_bytes_ = 0;
  int64_t next_heartbeat_ms_ = 0;
  bool heartbeat_in_flight_ = false;
  int64_t clock_offset_ms_ = 0;
  int64_t tick_ms_ = 100;
};

}  // namespace warden
