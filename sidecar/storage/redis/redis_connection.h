#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/c_ptr.h"
#include "common/redis_deployment.h"
#include "storage/redis/redis_reply.h"
#include "storage/redis/redis_socket.h"

namespace warden {

// One blocking connection to the primary of a Redis deployment (common/redis_deployment.h):
// a single server (TCP, unix socket, TLS) or the primary a Sentinel names. It speaks RESP
// through hiredis's encoder (redisFormatCommandArgv) and reader (redisReader*) over a
// RedisSocket of its own, with connect and command timeouts.
//
// Failures throw: RedisConnectError while connecting (refused, TLS, auth, timeout, no primary),
// RedisIoError once the connection breaks, a reply does not arrive in time, or the node stopped
// being the primary (READONLY, LOADING, MASTERDOWN after a failover): the connection is
// unusable afterwards (healthy() is false) and the caller connects again, which asks the
// Sentinels anew. Other error replies are returned, not thrown; ReplyView::ThrowIfError turns
// them into exceptions. No message ever holds the password.
class RedisConnection {
 public:
  // Connects to the deployment's primary, authenticates (AUTH [user] password), selects the
  // database. A Sentinel deployment asks each Sentinel in turn, connects to the primary it
  // names and checks with ROLE that it is one. When that primary gives no answer at all
  // (refused, timed out: it died, and a failover may be under way), the replica a failover
  // already promoted is used if exactly one of the Sentinel's replicas answers ROLE master
  // (promoted_from() then names the silent primary). Cluster is refused (RedisConnectError).
  static RedisConnection Connect(const RedisDeployment& deployment, int64_t timeout_ms);

  // Sends one command and waits for its reply.
  RedisReply Command(std::initializer_list<std::string_view> args);
  RedisReply Command(const std::vector<std::string>& args);

  // Pipelining: Append queues a command locally; GetReply sends everything queued and returns
  // the replies in order, one per call.
  void Append(const std::vector<std::string>& args);
  RedisReply GetReply(std::string command);

  const RedisDeployment& deployment() const { return deployment_; }
  // The node this connection talks to: "10.0.0.5:6379" or the socket's path.
  const std::string& endpoint() const { return socket_.endpoint(); }
  // How the node was found: "direct", "sentinel 10.0.0.9:26379", or "sentinel
  // 10.0.0.9:26379, promoted replica (10.0.0.5:6379 did not answer; +switch-master not yet
  // announced)".
  const std::string& found_via() const { return found_via_; }
  // The primary the Sentinels still named, which did not answer, when this connection went to
  // the replica that already answers ROLE master instead; empty otherwise.
  const std::string& promoted_from() const { return promoted_from_; }
  int64_t timeout_ms() const { return timeout_ms_; }
  // False once an I/O error, a timeout or a demotion broke the connection.
  bool healthy() const { return !broken_; }

  // Waits until the writes so far reached `replicas` replicas (WAIT), at most `timeout_ms`;
  // returns how many did.
  int64_t WaitForReplicas(int64_t replicas, int64_t timeout_ms);

 private:
  using ReaderPtr = CPtr<redisReader, redisReaderFree>;

  RedisConnection(RedisSocket socket, const RedisDeployment& deployment, int64_t timeout_ms);

  enum class NodeKind { kData, kSentinel };
  // Connects to one node (the unix socket when `address` is null) and authenticates; a data
  // node also selects the database. A Sentinel that refuses AUTH is used without.
  static RedisConnection Open(const RedisDeployment& deployment, const RedisNodeAddress* address,
                              int64_t timeout_ms, NodeKind kind);
  static RedisConnection ConnectViaSentinels(const RedisDeployment& deployment, int64_t timeout_ms);
  // The one replica of `sentinel`'s list (SENTINEL REPLICAS) that answers ROLE master, asked
  // because `silent`, the primary it names, did not answer; nullopt (and why in `note`) if
  // none or more than one does.
  static std::optional<RedisConnection> ConnectToPromotedReplica(
      const RedisDeployment& deployment, RedisConnection& sentinel, const RedisNodeAddress& silent,
      int64_t timeout_ms, const std::function<void(const std::string&)>& note);

  void AppendArgv(const std::vector<std::string_view>& args);

  RedisSocket socket_;
  ReaderPtr reader_;
  RedisDeployment deployment_;
  int64_t timeout_ms_;
  std::string found_via_ = "direct";
  std::string promoted_from_;
  std::string output_;  // encoded commands not sent yet
  bool broken_ = false;
  std::string sentinel_auth_error_;  // a Sentinel's refusal of AUTH, if it needs it after all
};

}  // namespace warden
