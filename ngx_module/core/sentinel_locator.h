#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/redis_node_address.h"
#include "common/sentinel_failover.h"
#include "core/async_redis.h"
#include "core/promotion_watch.h"

struct redisAsyncContext;

namespace warden {

// Finds a Sentinel deployment's primary for one worker's connections, on the worker's event
// loop, never blocking it: asks each Sentinel in turn (SENTINEL get-master-addr-by-name, each
// within the timeout), and holds a subscription to `+switch-master` on one of them so a
// failover is seen the moment the Sentinels announce it. The connections (AsyncRedis) ask it
// for the primary, confirm it (ROLE says master) or report it suspect (READONLY, LOADING, EOF,
// a timeout, ROLE says replica); a suspect primary makes it ask the Sentinels again, with
// jittered backoff, however many connections report it: one worker asks at most once per
// backoff step, and the workers of a node do not ask in step.
//
// The same subscription carries +sdown/+odown and +failover-state-wait-promotion: once a
// Sentinel reports the primary in use down, the locator asks its replicas ROLE (PromotionWatch:
// every 25 ms, bounded in number and time) and names the one that answers master as the
// primary as soon as it does, about 0.8 s before +switch-master, which stays the authority.
class SentinelLocator {
 public:
  struct Settings {
    std::vector<RedisNodeAddress> sentinels;  // IP literals (resolved at configuration time)
    std::string master_name;
    // What the Sentinels are sent (their own, or else the data nodes'); a Sentinel that refuses
    // AUTH is asked anyway, and says in its answer if it wanted other credentials.
    std::string user;
    std::string password;
    int timeout_ms = 1000;
    // TLS to the Sentinels as to the data nodes, each checked by its name as configured
    // (`names`, in the order of `sentinels`; empty: by address) or tls_server_name.
    RedisTlsSettings tls;
    std::vector<std::string> names;
  };
  // A primary confirmed by a connection: `from` is the one confirmed before (empty at first).
  using ChangeFn = std::function<void(const std::string& from, const std::string& to)>;

  SentinelLocator(Settings settings, Clock clock, AsyncRedis::AttachFn attach, LogFn log);
  ~SentinelLocator();
  SentinelLocator(const SentinelLocator&) = delete;
  SentinelLocator& operator=(const SentinelLocator&) = delete;

  // The primary to connect to (the last the Sentinels named), or nullopt before any answer.
  // A caller with none asks again on its next tick; Want() starts the asking.
  std::optional<RedisNodeAddress> primary() const { return primary_; }
  // Grows each time the primary named changes: a connection to another one reconnects.
  uint64_t generation() const { return generation_; }
  // A connection needs the primary (now or soon): keeps the subscription up, and asks the
  // Sentinels when no primary is known.
  void Want();
  // A connection to `address` met READONLY, LOADING, MASTERDOWN, EOF, a timeout or a refused
  // connect, or ROLE said it is not a master: ask the Sentinels again (with backoff).
  void Suspect(const RedisNodeAddress& address, const std::string& why);
  // A connection to `address` found ROLE master; `replicas` are those it listed (where to
  // look for a promotion should it go down).
  void Confirm(const RedisNodeAddress& address, const std::vector<RedisNodeAddress>& replicas = {});
  void set_on_confirmed(ChangeFn fn) { on_confirmed_ = std::move(fn); }

  // Drives the queries and the subscription; call it every tick.
  void Tick();
  void Close();

  const std::string& master_name() const { return settings_.master_name; }
  uint64_t errors() const { return errors_; }
  // A Sentinel reported the primary down and the replicas are being asked: tick often.
  bool following() const { return watch_.open(); }

  // How long a connection's use keeps the subscription up.
  static constexpr int64_t kWantedMs = 3000;

 private:
  void StartQuery();
  void AskSentinel();
  void QueryFailed(const std::string& why);
  void OnQueryReply(redisReply* reply);
  void EndQuery();
  void Subscribe();
  void OnMessage(redisReply* reply);
  void OnEvent(const SentinelEvent& event);
  void DropSubscription();
  // Following a promotion before it is announced (PromotionWatch).
  struct Probe {
    RedisNodeAddress address;
    redisAsyncContext* ac = nullptr;
    bool asking = false;  // a ROLE is outstanding
    int64_t deadline_ms = 0;
  };
  void TickWatch(int64_t now);
  void Ask(const RedisNodeAddress& replica);
  void OnProbeReply(const redisAsyncContext* ac, redisReply* reply);
  void ProbeAnswered(const RedisNodeAddress& replica, bool master);
  void CloseProbe(Probe& probe);
  void EndWatch();
  Probe* FindProbe(const redisAsyncContext* ac);
  void AskForReplicas();
  void OnReplicasReply(redisReply* reply);
  void EndReplicasQuery();
  void SetPrimary(const RedisNodeAddress& address, const std::string& how);
  // A connection to Sentinel number `sentinel`, or to another node (`what`: "replica", for
  // messages); with TLS, checked by `tls_name`.
  redisAsyncContext* Open(size_t sentinel);
  redisAsyncContext* OpenNode(const RedisNodeAddress& address, const std::string& tls_name,
                              const char* what);
  void SendAuth(redisAsyncContext* ac);
  static void QueryCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void SubscriptionCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void IgnoreCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void ProbeCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void ReplicasCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void ConnectCallback(const redisAsyncContext* ac, int status) noexcept;
  static void DisconnectCallback(const redisAsyncContext* ac, int status) noexcept;
  void ContextGone(const redisAsyncContext* ac, const char* why, const char* detail) noexcept;

  Settings settings_;
  Clock clock_;
  AsyncRedis::AttachFn attach_;
  LogFn log_;
  ChangeFn on_confirmed_;

  std::optional<RedisNodeAddress> primary_;
  std::optional<RedisNodeAddress> confirmed_;
  uint64_t generation_ = 0;
  uint64_t errors_ = 0;
  int64_t wanted_until_ms_ = 0;

  // Asking the Sentinels: one at a time, in turn, starting with the last that answered.
  bool query_needed_ = false;
  redisAsyncContext* query_ac_ = nullptr;
  int64_t query_deadline_ms_ = 0;
  size_t query_next_ = 0;     // the Sentinel to ask next in this round
  size_t query_asked_ = 0;    // Sentinels asked in this round
  size_t query_current_ = 0;  // the one being asked
  size_t answered_last_ = 0;  // the Sentinel that answered last
  std::string query_failures_;
  int64_t next_query_ms_ = 0;
  bool outage_logged_ = false;
  Backoff query_backoff_;

  // The +switch-master subscription.
  redisAsyncContext* sub_ac_ = nullptr;
  bool sub_connected_ = false;
  int64_t sub_deadline_ms_ = 0;  // connect and subscribe by then
  size_t sub_next_ = 0;
  size_t sub_current_ = 0;
  int64_t next_subscribe_ms_ = 0;
  Backoff sub_backoff_;

  // Following a promotion: the replicas asked ROLE, and one SENTINEL REPLICAS per window.
  PromotionWatch watch_;
  std::string watch_reason_;  // "sentinel S reported A down (+odown)", for the log
  std::vector<Probe> probes_;
  redisAsyncContext* replicas_ac_ = nullptr;
  int64_t replicas_deadline_ms_ = 0;
  std::optional<RedisNodeAddress> replicas_asked_for_;  // the failed primary, this window
};

}  // namespace warden
