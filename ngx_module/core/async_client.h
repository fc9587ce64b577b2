#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/redis_node_address.h"
#include "common/redis_schema.h"
#include "core/async_tls.h"

struct redisAsyncContext;
struct redisReply;

namespace warden {

class AsyncRedis;
class SentinelLocator;

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
using LogFn = std::function<void(LogLevel, const std::string&)>;

// What a Redis Cluster's clients meet, counted for the node's metrics (warden_status):
// MOVED and ASK redirects followed, TRYAGAIN/CLUSTERDOWN answers, slot maps read. A
// resharding shows as redirects, a cluster failover as slot maps read (and, while it lasts,
// answers of a cluster that is down).
enum class ClusterEvent { kMoved = 0, kAsk, kDown, kSlotMap };

struct RedisEndpoint {
  std::string host = "127.0.0.1";  // an IP literal: names are resolved at configuration time
  int port = 6379;
  std::string host_name;  // the host as configured (a name, or host again): what TLS checks
  std::string unix_path;  // used instead of host:port when set
  std::string user;       // an ACL user (AUTH user password); empty: AUTH password
  std::string password;
  int db = 0;
  std::string prefix = "warden:";
  int timeout_ms = 1000;
  // sentinel://: the Sentinels (IP literals) and the master they monitor; host and port are
  // then unused: the locator names the primary.
  std::vector<RedisNodeAddress> sentinels;
  std::vector<std::string> sentinel_names;  // each as configured, in the same order (for TLS)
  // What the Sentinels are sent: sentinel_user/sentinel_password when configured, else the
  // data nodes' user and password (RedisDeployment::SentinelCredentials).
  std::string sentinel_user;
  std::string sentinel_password;
  std::string master_name;
  // cluster://: the seed nodes (IP literals) asked for the slot map; host and port are then
  // unused: the map names the primaries.
  std::vector<RedisNodeAddress> cluster_seeds;
  std::vector<std::string> cluster_seed_names;  // each as configured, in the same order (TLS)
  // TLS on every connection (data nodes and Sentinels) when its context is set.
  RedisTlsSettings tls;
  // With sentinels: the worker's locator (it owns it; it outlives the connections).
  SentinelLocator* locator = nullptr;
  // cluster://: told of each ClusterEvent of the clients opened with this endpoint (the worker
  // counts them); may be empty.
  std::function<void(ClusterEvent)> on_cluster_event;

  bool cluster() const { return !cluster_seeds.empty(); }
  // The key names this deployment needs (hash tags in a cluster: common/redis_schema.h).
  RedisSchema Schema() const {
    return RedisSchema(prefix,
                       cluster() ? RedisSchema::Layout::kCluster : RedisSchema::Layout::kSingle);
  }
  std::string Describe() const;
};

// What the module's Redis users (the blacklist follower, limit syncs, exact limits, bans,
// traffic counts, the cache) talk to, on the host's event loop, never blocking: AsyncRedis
// (one connection to one server, or to the primary Sentinel names) or AsyncCluster (a Redis
// Cluster: one AsyncRedis per primary, each command sent to its keys' slot). Open() picks by
// the endpoint. A command whose keys lie in several slots of a cluster is refused (Send
// returns false): callers split such calls per slot.
class AsyncClient {
 public:
  // Called with the reply, or with nullptr when the command failed (connection lost,
  // deadline missed, shutting down; in a cluster also CLUSTERDOWN, TRYAGAIN, a redirect that
  // led nowhere). Error replies are passed as they are.
  using Callback = std::function<void(redisReply*)>;
  using AttachFn = std::function<bool(redisAsyncContext*)>;

  virtual ~AsyncClient() = default;

  static std::unique_ptr<AsyncClient> Open(RedisEndpoint endpoint, std::string purpose, Clock clock,
                                           AttachFn attach, LogFn log);

  // Connects when due, enforces deadlines. Call it periodically (every ~100 ms).
  virtual void Tick() = 0;
  // False (and the callback is not called) when the command cannot go out right now.
  virtual bool Send(const std::vector<std::string>& args, int64_t budget_ms, Callback callback) = 0;
  // From inside a callback: close once the pending replies are in (a protocol problem).
  virtual void DisconnectSoon(const std::string& why) = 0;
  virtual void Close() = 0;
  // Commands may be sent.
  virtual bool connected() const = 0;
  // Runs after each (re)connection, before any other command may be sent (in a cluster: when
  // the slot map is first known, and when a primary's connection comes back).
  virtual void set_on_connect(std::function<void()> fn) = 0;
  virtual const RedisEndpoint& endpoint() const = 0;
  virtual const std::string& purpose() const = 0;
  virtual void Log(LogLevel level, const std::string& msg) const = 0;
  // From inside a reply callback: Redis answers again after an outage (logged once).
  virtual void MarkHealthy() = 0;
  virtual uint64_t errors() const = 0;
  // Each server connection (for the node's heartbeat: one per cluster node).
  virtual void ForEachConnection(const std::function<void(const AsyncRedis&)>& fn) const = 0;
};

}  // namespace warden
