#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_deployment.h"
#include "storage/redis/cluster_client.h"
#include "storage/redis/redis_node_connection.h"
#include "storage/redis/redis_reply.h"

namespace warden {

// One blocking connection to a Redis deployment (common/redis_deployment.h): a single server
// (TCP, unix socket, TLS), the primary a Sentinel names, or a Redis Cluster, where each command
// goes to the primary of its keys' slot (storage/redis/cluster_client.h). It speaks RESP
// through hiredis's encoder and reader over sockets of its own (RedisNodeConnection), with
// connect and command timeouts.
//
// Failures throw: RedisConnectError while connecting (refused, TLS, auth, timeout, no primary,
// no slot map), RedisIoError once the connection breaks, a reply does not arrive in time, or the
// node stopped being the primary (READONLY, LOADING, MASTERDOWN after a failover), or a cluster
// stayed down: the connection is unusable afterwards (healthy() is false) and the caller
// connects again, which asks the Sentinels (or the cluster's nodes) anew. Other error replies
// are returned, not thrown; ReplyView::ThrowIfError turns them into exceptions. A command a
// cluster cannot route (keys in two slots) throws RedisReplyError and sends nothing. No
// message ever holds the password.
class RedisConnection {
 public:
  // Connects to the deployment's primary, authenticates (AUTH [user] password), selects the
  // database. A Sentinel deployment asks each Sentinel in turn, connects to the primary it
  // names and checks with ROLE that it is one. When that primary gives no answer at all
  // (refused, timed out: it died, and a failover may be under way), the replica a failover
  // already promoted is used if exactly one of the Sentinel's replicas answers ROLE master
  // (promoted_from() then names the silent primary). A cluster reads the slot map from the
  // first seed that gives one; the primaries are connected to when first needed.
  static RedisConnection Connect(const RedisDeployment& deployment, int64_t timeout_ms);

  // Sends one command and waits for its reply.
  RedisReply Command(std::initializer_list<std::string_view> args);
  RedisReply Command(const std::vector<std::string>& args);

  // Pipelining: Append queues a command locally; GetReply sends everything queued and returns
  // the replies in order, one per call. (In a cluster, per node.)
  void Append(const std::vector<std::string>& args);
  RedisReply GetReply(std::string command);

  // The keys matching a SCAN pattern, each once: on the one server, or on every primary of a
  // cluster.
  std::vector<std::string> ScanKeys(const std::string& pattern);

  const RedisDeployment& deployment() const { return deployment_; }
  // The node this connection talks to: "10.0.0.5:6379", the socket's path, or "cluster
  // A,B,C" (the primaries).
  const std::string& endpoint() const;
  // How the node was found: "direct", "sentinel 10.0.0.9:26379", "sentinel 10.0.0.9:26379,
  // promoted replica (10.0.0.5:6379 did not answer; +switch-master not yet announced)", or
  // "cluster slots".
  const std::string& found_via() const { return found_via_; }
  // The primary the Sentinels still named, which did not answer, when this connection went to
  // the replica that already answers ROLE master instead; empty otherwise.
  const std::string& promoted_from() const { return promoted_from_; }
  int64_t timeout_ms() const { return timeout_ms_; }
  // False once an I/O error, a timeout or a demotion broke the connection.
  bool healthy() const;
  // The cluster's client with cluster://, else nullptr (slot map, redirect counts).
  const ClusterClient* cluster() const { return cluster_.get(); }

  // A command without a key for the node that holds `key`: in a cluster the primary of its
  // slot (ROLE, WAIT), else the one server.
  RedisReply CommandAtPrimaryOf(std::string_view key, const std::vector<std::string>& args);
  // Waits until the writes so far reached `replicas` replicas (WAIT), at most `timeout_ms`;
  // returns how many did. In a cluster WAIT is per node: it goes to the primary of `key`'s
  // slot, which holds the writes to wait for.
  int64_t WaitForReplicas(int64_t replicas, int64_t timeout_ms, std::string_view key = {});

  // The primary a `SENTINEL get-master-addr-by-name` reply names ([ip, port]); nullopt for
  // any other answer (nil, an error, something else).
  static std::optional<RedisNodeAddress> NamedPrimary(const ReplyView& reply);

 private:
  RedisConnection(const RedisDeployment& deployment, int64_t timeout_ms);

  static RedisConnection ConnectViaSentinels(const RedisDeployment& deployment, int64_t timeout_ms);
  // The one replica of `sentinel`'s list (SENTINEL REPLICAS) that answers ROLE master, asked
  // because `silent`, the primary it names, did not answer; nullopt (and why in `note`) if
  // none or more than one does.
  static std::optional<RedisNodeConnection> ConnectToPromotedReplica(
      const RedisDeployment& deployment, RedisNodeConnection& sentinel,
      const RedisNodeAddress& silent, int64_t timeout_ms,
      const std::function<void(const std::string&)>& note);

  RedisDeployment deployment_;
  int64_t timeout_ms_;
  std::string found_via_ = "direct";
  std::string promoted_from_;
  std::unique_ptr<RedisNodeConnection> node_;  // a single server, a Sentinel's primary
  std::unique_ptr<ClusterClient> cluster_;     // cluster://
};

}  // namespace warden
