#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/cluster_route.h"
#include "common/cluster_slots.h"
#include "common/redis_deployment.h"
#include "common/redis_node_address.h"
#include "storage/redis/redis_node_connection.h"
#include "storage/redis/redis_reply.h"

namespace warden {

// The sidecar's client of a Redis Cluster (cluster://seed1,seed2): the slot map from CLUSTER
// SLOTS (each seed asked in turn, each within the timeout), one RedisNodeConnection per primary,
// opened when first needed with the deployment's user, password and TLS options, and every
// command sent to the primary of its keys' slot (ClusterRoute). RedisConnection holds one for
// cluster:// and offers the same interface as for a single server.
//
// Redirects (common/redis_redirect.h): MOVED corrects the map for that slot, the command goes
// to the node named, and the whole map is read again (one CLUSTER SLOTS); ASK sends ASKING and
// the command once to the node named, leaving the map alone; TRYAGAIN and CLUSTERDOWN are
// retried after a short backoff, a bounded number of times, then fail with one line. A node
// that cannot be reached makes the map be read again once (a failover may have moved its
// slots); if it still serves the slot, the command fails with one line naming it. Commands
// queued with Append are sent per node, pipelined, and their replies come back in the order
// they were queued.
//
// Errors follow RedisConnection's model: RedisConnectError when no seed gives a slot map,
// RedisIoError once a node's connection broke, the cluster stayed down, or a node is
// unreachable (healthy() is false afterwards: reconnect), RedisReplyError for a command that
// cannot be routed (nothing was sent; the client stays usable). Other error replies are
// returned.
class ClusterClient {
 public:
  // What happened so far (tests; `warden status`).
  struct Stats {
    int64_t moved = 0;      // MOVED replies followed
    int64_t asked = 0;      // ASK replies followed
    int64_t retried = 0;    // TRYAGAIN / CLUSTERDOWN waits
    int64_t refreshes = 0;  // slot maps read after the first
  };

  static std::unique_ptr<ClusterClient> Connect(const RedisDeployment& deployment,
                                                int64_t timeout_ms);

  // Throws RedisReplyError, queuing nothing, when the command cannot be routed.
  void Append(const std::vector<std::string>& args);
  RedisReply GetReply(std::string command);

  // A command without a key that must reach the primary of `key`'s slot (ROLE, WAIT: what that
  // node replicates), sent there now and its reply read. Throws RedisIoError when no primary
  // serves the slot or it cannot be reached.
  RedisReply CommandAtPrimaryOf(std::string_view key, const std::vector<std::string>& args);

  // The keys matching `pattern` on every primary (SCAN on each), each once.
  std::vector<std::string> ScanKeys(const std::string& pattern);

  bool healthy() const { return !broken_; }
  // "cluster 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002": the primaries serving slots.
  const std::string& endpoint() const { return endpoint_; }
  const ClusterSlotMap& slots() const { return *map_; }
  // The slot ranges of the last CLUSTER SLOTS read, as Redis listed them.
  const std::vector<ClusterSlotRange>& ranges() const { return ranges_; }
  const Stats& stats() const { return stats_; }

  // What a reply asks of the client: done (a result, or an error of the command's own),
  // moved or ask (to `target`; an empty host in the reply is `replied_host`), or retry later
  // (TRYAGAIN, CLUSTERDOWN).
  struct Step {
    enum class Kind { kDone, kMoved, kAsk, kRetryLater };
    Kind kind = Kind::kDone;
    int slot = -1;
    RedisNodeAddress target;
  };
  static Step Decide(const ReplyView& reply, const std::string& replied_host);

  // Redirects followed per command before giving up, and waits after TRYAGAIN/CLUSTERDOWN
  // (backoff from kRetryBaseMs doubling to kRetryMaxMs, full jitter: at most ~2.3 s in all).
  static constexpr int kMaxRedirects = 5;
  static constexpr int kMaxRetries = 8;
  static constexpr int64_t kRetryBaseMs = 25;
  static constexpr int64_t kRetryMaxMs = 500;

 private:
  struct Pending {
    std::vector<std::string> argv;
    std::string name;
    ClusterRoute route;
    std::optional<RedisNodeAddress> ask;  // the next attempt goes there, after ASKING
    std::optional<RedisReply> reply;
    std::string retry_error;  // the last TRYAGAIN / CLUSTERDOWN
    int redirects = 0;
  };

  ClusterClient(const RedisDeployment& deployment, int64_t timeout_ms);

  // Reads CLUSTER SLOTS from `address` (an open connection or a new one); false with `why`.
  bool LoadSlots(const RedisNodeAddress& address, std::string* why);
  // Reads the map again: the known primaries first, then the seeds. Keeps the old map when
  // none answers.
  void RefreshSlots();
  RedisNodeConnection& Node(const RedisNodeAddress& address);
  // The primary a command without a key goes to: one already connected if any, none of
  // `unreachable`.
  std::optional<RedisNodeAddress> AnyPrimary(const std::set<std::string>& unreachable) const;
  void Execute(std::vector<Pending>& batch);
  void ExecuteOnEveryPrimary(Pending& pending);

  RedisDeployment deployment_;
  int64_t timeout_ms_;
  std::optional<ClusterSlotMap> map_;
  std::vector<ClusterSlotRange> ranges_;
  std::map<std::string, std::unique_ptr<RedisNodeConnection>> nodes_;  // by "host:port"
  std::vector<Pending> queued_;
  std::deque<RedisReply> ready_;
  std::string endpoint_;
  Stats stats_;
  bool broken_ = false;
};

}  // namespace warden
