#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/cluster_route.h"
#include "common/cluster_slots.h"
#include "core/async_client.h"
#include "core/async_redis.h"

namespace warden {

// The module's client of a Redis Cluster (warden_redis cluster://seed1,seed2), on the host's
// event loop like AsyncRedis and never blocking: the slot map comes from CLUSTER SLOTS asked
// over an AsyncRedis (a known primary's, else each seed's in turn), and every command goes to
// the primary of its keys' slot (common/cluster_route.h) over that primary's own AsyncRedis,
// made when first needed with the endpoint's user, password and TLS settings. A command of one
// slot is pipelined with the others for the same node.
//
// Replies (common/redis_redirect.h): MOVED corrects the map for that slot, asks for the whole
// map again in the background (at most every kRefreshMinMs) and sends the command once to the
// node named; ASK sends ASKING and the command once to the node named; TRYAGAIN and
// CLUSTERDOWN fail the command (callback nullptr: callers fall back to their local answer),
// hold the client unconnected for a jittered, growing backoff and refresh the map. A primary
// that cannot be reached fails the command and refreshes the map (a failover may have moved its
// slots). SCRIPT LOAD goes to every primary. Commands with keys in several slots are refused:
// callers split them per slot.
class AsyncCluster final : public AsyncClient {
 public:
  // Also told to endpoint().on_cluster_event.
  struct Stats {
    uint64_t moved = 0;      // MOVED replies followed
    uint64_t asked = 0;      // ASK replies followed
    uint64_t down = 0;       // TRYAGAIN / CLUSTERDOWN replies
    uint64_t refreshes = 0;  // slot maps read
  };

  AsyncCluster(RedisEndpoint endpoint, std::string purpose, Clock clock, AttachFn attach,
               LogFn log);
  ~AsyncCluster() override;
  AsyncCluster(const AsyncCluster&) = delete;
  AsyncCluster& operator=(const AsyncCluster&) = delete;

  void Tick() override;
  bool Send(const std::vector<std::string>& args, int64_t budget_ms, Callback callback) override;
  void DisconnectSoon(const std::string& why) override;
  void Close() override;
  // The slot map is known and no CLUSTERDOWN/TRYAGAIN backoff is running.
  bool connected() const override;
  void set_on_connect(std::function<void()> fn) override { on_connect_ = std::move(fn); }
  const RedisEndpoint& endpoint() const override { return endpoint_; }
  const std::string& purpose() const override { return purpose_; }
  void Log(LogLevel level, const std::string& msg) const override { log_(level, msg); }
  void MarkHealthy() override;
  uint64_t errors() const override;
  void ForEachConnection(const std::function<void(const AsyncRedis&)>& fn) const override;

  const Stats& stats() const { return stats_; }
  const ClusterSlotMap* slots() const { return map_ ? &*map_ : nullptr; }

  static constexpr int64_t kRefreshMinMs = 500;
  // Redirects followed per command: a stale map's MOVED, then a migration's ASK.
  static constexpr int kMaxRedirects = 2;

 private:
  struct Command {
    std::vector<std::string> args;
    int64_t budget_ms;
    Callback callback;
    int redirects = 0;
  };

  // The connection to `address`, made (and started) when `create` and there is none.
  AsyncRedis* Node(const RedisNodeAddress& address, bool create);
  bool Dispatch(AsyncRedis* node, const RedisNodeAddress& address, std::shared_ptr<Command> cmd,
                bool asking);
  void OnReply(const std::shared_ptr<Command>& cmd, const RedisNodeAddress& from, AsyncRedis* node,
               redisReply* reply);
  // Follows MOVED/ASK once more, or fails the command.
  void Redirect(const std::shared_ptr<Command>& cmd, const RedisNodeAddress& to, bool asking);
  void RequestRefresh() { refresh_wanted_ = true; }
  void Tell(ClusterEvent event) const {
    if (endpoint_.on_cluster_event) endpoint_.on_cluster_event(event);
  }
  void AskForSlots();
  void OnSlots(redisReply* reply, const RedisNodeAddress& from);
  void NoteError(const std::string& what);
  bool IsPrimary(const RedisNodeAddress& address) const;

  RedisEndpoint endpoint_;
  std::string purpose_;
  Clock clock_;
  AttachFn attach_;
  LogFn log_;
  std::function<void()> on_connect_;

  std::optional<ClusterSlotMap> map_;
  std::vector<RedisNodeAddress> primaries_;                   // of map_, in its order
  std::map<std::string, std::unique_ptr<AsyncRedis>> nodes_;  // by "host:port"
  // Connections no longer needed (a seed that serves no slot): freed at the next Tick, never
  // inside one of their own callbacks.
  std::vector<std::unique_ptr<AsyncRedis>> retired_;
  AsyncRedis* replied_ = nullptr;  // the node whose reply is being handled (MarkHealthy)
  bool refresh_wanted_ = true;
  bool refresh_in_flight_ = false;
  int64_t next_refresh_ms_ = 0;
  size_t next_candidate_ = 0;
  int64_t down_until_ms_ = 0;
  Backoff backoff_;
  uint64_t errors_ = 0;          // the cluster's own (routing, CLUSTERDOWN), not the nodes'
  uint64_t retired_errors_ = 0;  // of connections freed
  std::string last_logged_;
  Stats stats_;
};

}  // namespace warden
