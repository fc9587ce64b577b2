#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/c_ptr.h"
#include "common/redis_deployment.h"
#include "common/redis_node_address.h"
#include "storage/redis/redis_reply.h"
#include "storage/redis/redis_socket.h"

namespace warden {

// One blocking connection to one Redis server (a data node or a Sentinel): RESP through
// hiredis's encoder (redisFormatCommandArgv) and reader (redisReader*) over a RedisSocket of
// its own. RedisConnection uses one for a single server or a Sentinel's primary, and one per
// primary in a cluster (storage/redis/cluster_client.h).
//
// Failures throw: RedisConnectError while connecting (TLS, auth; RedisUnreachableError when
// refused, timed out, or accepted and then closed or silent),
// RedisIoError once the connection breaks, a reply does not arrive in time, or the node stopped
// being the primary (READONLY, LOADING, MASTERDOWN): the connection is unusable afterwards
// (healthy() is false). Other error replies are returned, not thrown. No message ever holds
// the password.
class RedisNodeConnection {
 public:
  enum class NodeKind { kData, kSentinel };

  // Connects to one node (the deployment's unix socket when `address` is null) and
  // authenticates with the deployment's credentials (AUTH [user] password); a data node also
  // selects the deployment's database. A Sentinel that refuses AUTH is used without
  // (sentinel_auth_error() keeps why, in case it wants them after all).
  static RedisNodeConnection Open(const RedisDeployment& deployment,
                                  const RedisNodeAddress* address, int64_t timeout_ms,
                                  NodeKind kind = NodeKind::kData);

  RedisReply Command(std::initializer_list<std::string_view> args);
  RedisReply Command(const std::vector<std::string>& args);

  // Pipelining: Append queues a command locally; GetReply sends everything queued and returns
  // the replies in order, one per call.
  void Append(const std::vector<std::string>& args);
  RedisReply GetReply(std::string command);

  // After SUBSCRIBE: the next message Redis pushes, or nullopt when none came within `wait_ms`
  // (the connection stays usable). Commands Append()ed meanwhile (PING, whose answer comes as
  // a message) are sent first. Once a message has begun, the rest is read within the
  // connection's timeout, and failures throw as for GetReply.
  std::optional<RedisReply> WaitForMessage(int64_t wait_ms, std::string command);
  // "10.0.0.5:6379" or the socket's path.
  const std::string& endpoint() const { return socket_.endpoint(); }
  int64_t timeout_ms() const { return timeout_ms_; }
  bool healthy() const { return !broken_; }
  const std::string& sentinel_auth_error() const { return sentinel_auth_error_; }

 private:
  using ReaderPtr = CPtr<redisReader, redisReaderFree>;

  RedisNodeConnection(RedisSocket socket, int64_t timeout_ms);
  void ThrowIfBroken() const;
  // Writes what Append() queued; a failure marks the connection broken and throws.
  void SendQueued(const std::string& command);

  void AppendArgv(const std::vector<std::string_view>& args);

  RedisSocket socket_;
  ReaderPtr reader_;
  int64_t timeout_ms_;
  std::string output_;  // encoded commands not sent yet
  bool broken_ = false;
  std::string sentinel_auth_error_;
};

// "GET" for "get": the command's name for messages.
std::string RedisCommandName(std::string_view first);

}  // namespace warden
