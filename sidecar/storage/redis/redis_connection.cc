#include "storage/redis/redis_connection.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "base/errors.h"
#include "common/redis_redirect.h"
#include "common/sentinel_failover.h"

namespace warden {

namespace {

std::string CommandName(std::string_view first) {
  std::string name(first);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// The error replies that mean "this node is not (or not yet) the primary you want": after a
// failover the old primary answers READONLY, a restarted one LOADING, a replica MASTERDOWN.
const char* Demotion(std::string_view error) {
  switch (RedisRedirect::Classify(error).kind) {
    case RedisRedirect::Kind::kReadOnly:
      return "is no longer the primary (READONLY)";
    case RedisRedirect::Kind::kLoading:
      return "is loading its data (LOADING)";
    case RedisRedirect::Kind::kMasterDown:
      return "lost its primary (MASTERDOWN)";
    default:
      return nullptr;
  }
}

}  // namespace

RedisConnection::RedisConnection(RedisSocket socket, const RedisDeployment& deployment,
                                 int64_t timeout_ms)
    : socket_(std::move(socket)),
      reader_(redisReaderCreate()),
      deployment_(deployment),
      timeout_ms_(timeout_ms) {
  if (!reader_) throw RedisConnectError("out of memory creating a Redis reply reader");
}

RedisConnection RedisConnection::Connect(const RedisDeployment& deployment, int64_t timeout_ms) {
  switch (deployment.kind) {
    case RedisDeployment::Kind::kSingle:
      return Open(deployment,
                  deployment.socket_path.empty() ? &deployment.servers.front() : nullptr,
                  timeout_ms, NodeKind::kData);
    case RedisDeployment::Kind::kSentinel:
      return ConnectViaSentinels(deployment, timeout_ms);
    case RedisDeployment::Kind::kCluster:
      break;
  }
  throw RedisConnectError("the sidecar does not talk to Redis Cluster yet (" +
                          deployment.Describe() +
                          "); use a single server or sentinel:// (docs/topology.md)");
}

RedisConnection RedisConnection::Open(const RedisDeployment& deployment,
                                      const RedisNodeAddress* address, int64_t timeout_ms,
                                      NodeKind kind) {
  RedisConnection conn(address ? RedisSocket::ConnectTcp(*address, deployment.tls, timeout_ms)
                               : RedisSocket::ConnectUnix(deployment.socket_path, timeout_ms),
                       deployment, timeout_ms);
  const std::string where = "Redis at " + conn.endpoint();
  try {
    if (!deployment.password.empty()) {
      RedisReply reply = deployment.user.empty()
                             ? conn.Command({"AUTH", deployment.password})
                             : conn.Command({"AUTH", deployment.user, deployment.password});
      if (reply.view().is_error()) {
        std::string who = deployment.user.empty() ? "the password" : "user " + deployment.user;
        std::string refused =
            where + " refused the credentials (" + who + "): " + std::string(reply.view().str());
        // The Sentinels get the data nodes' credentials, which a Sentinel without a password
        // (or without that user) refuses: go on without, and say why if it then wants them.
        if (kind == NodeKind::kData) throw RedisConnectError(refused);
        conn.sentinel_auth_error_ = refused;
      }
    }
    if (kind == NodeKind::kData && deployment.db != 0) {
      RedisReply reply = conn.Command({"SELECT", std::to_string(deployment.db)});
      if (reply.view().is_error()) {
        throw RedisConnectError(where + " refused database " + std::to_string(deployment.db) +
                                ": " + std::string(reply.view().str()));
      }
    }
  } catch (const RedisIoError& e) {
    throw RedisUnreachableError(e.what());  // accepted, then closed or silent
  }
  return conn;
}

RedisConnection RedisConnection::ConnectViaSentinels(const RedisDeployment& deployment,
                                                     int64_t timeout_ms) {
  std::string failures;
  auto note = [&failures](const std::string& what) {
    if (!failures.empty()) failures += "; ";
    failures += what;
  };
  bool replicas_asked = false;  // once per connect: each Sentinel names the same silent primary
  for (const RedisNodeAddress& sentinel_address : deployment.servers) {
    const std::string sentinel_name = "sentinel " + sentinel_address.ToString();
    try {
      RedisNodeAddress primary;
      RedisConnection sentinel =
          Open(deployment, &sentinel_address, timeout_ms, NodeKind::kSentinel);
      {
        RedisReply reply =
            sentinel.Command({"SENTINEL", "get-master-addr-by-name", deployment.master_name});
        ReplyView view = reply.view();
        if (view.is_nil()) {
          note(sentinel_name + " does not monitor \"" + deployment.master_name + "\"");
          continue;
        }
        if (view.is_error() && !sentinel.sentinel_auth_error_.empty()) {
          note(sentinel.sentinel_auth_error_);
          continue;
        }
        view.ThrowIfError();
        if (!view.is_array() || view.size() != 2) {
          note(sentinel_name + " gave an unexpected answer");
          continue;
        }
        primary.host = std::string(view[0].str());
        primary.port = static_cast<int>(view[1].integer());
      }
      try {
        RedisConnection conn = Open(deployment, &primary, timeout_ms, NodeKind::kData);
        RedisReply role = conn.Command({"ROLE"});
        ReplyView view = role.view();
        view.ThrowIfError();
        if (!view.is_array() || view.size() == 0 || view[0].str() != "master") {
          note(sentinel_name + " named " + primary.ToString() +
               ", which is not a primary (a failover is under way)");
          continue;
        }
        conn.found_via_ = sentinel_name;
        return conn;
      } catch (const RedisUnreachableError& e) {
        note(e.what());
      } catch (const RedisIoError& e) {
        note(e.what());  // accepted, then closed or silent: no answer either
      }
      // The primary named gave no answer: it may have died, and the Sentinels' leader may
      // have promoted a replica already (they name it only about a second later).
      if (replicas_asked) continue;
      replicas_asked = true;
      if (std::optional<RedisConnection> promoted =
              ConnectToPromotedReplica(deployment, sentinel, primary, timeout_ms, note)) {
        promoted->found_via_ = sentinel_name + ", promoted replica (" + primary.ToString() +
                               " did not answer; +switch-master not yet announced)";
        promoted->promoted_from_ = primary.ToString();
        return std::move(*promoted);
      }
    } catch (const RedisError& e) {
      note(e.what());
    }
  }
  throw RedisConnectError("found no primary for Sentinel master \"" + deployment.master_name +
                          "\": " + failures);
}

std::optional<RedisConnection> RedisConnection::ConnectToPromotedReplica(
    const RedisDeployment& deployment, RedisConnection& sentinel, const RedisNodeAddress& silent,
    int64_t timeout_ms, const std::function<void(const std::string&)>& note) {
  constexpr size_t kMaxReplicas = 8;  // each costs a connect and a ROLE, within the timeout
  RedisReply reply = sentinel.Command({"SENTINEL", "REPLICAS", deployment.master_name});
  ReplyView list = reply.view();
  if (!list.is_array()) return std::nullopt;  // an error: no list, nothing promoted to find
  std::vector<ReplicaRole> answers;
  std::vector<std::pair<RedisNodeAddress, RedisConnection>> masters;
  for (size_t i = 0; i < list.size() && answers.size() < kMaxReplicas; ++i) {
    ReplyView entry = list[i];
    if (!entry.is_array()) continue;
    std::vector<std::pair<std::string, std::string>> fields;
    for (size_t f = 0; f + 1 < entry.size(); f += 2) {
      if (!entry[f].is_string() || !entry[f + 1].is_string()) continue;
      fields.emplace_back(std::string(entry[f].str()), std::string(entry[f + 1].str()));
    }
    std::optional<SentinelReplica> replica = SentinelReplica::FromFields(fields);
    if (!replica || !replica->Reachable() || replica->address == silent) continue;
    try {
      RedisConnection conn = Open(deployment, &replica->address, timeout_ms, NodeKind::kData);
      RedisReply role = conn.Command({"ROLE"});
      ReplyView view = role.view();
      bool master =
          view.is_array() && view.size() > 0 && view[0].is_string() && view[0].str() == "master";
      answers.push_back(ReplicaRole{replica->address, master});
      if (master) masters.emplace_back(replica->address, std::move(conn));
    } catch (const RedisError&) {
      answers.push_back(ReplicaRole{replica->address, false});
    }
  }
  std::optional<RedisNodeAddress> promoted = PromotedReplica(answers);
  if (!promoted) {
    if (masters.size() > 1) {
      note(std::to_string(masters.size()) + " replicas of " + silent.ToString() +
           " answer ROLE master: not choosing between them");
    }
    return std::nullopt;
  }
  for (auto& [address, conn] : masters) {
    if (address == *promoted) return std::move(conn);
  }
  return std::nullopt;
}

RedisReply RedisConnection::Command(std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> argv(args);
  AppendArgv(argv);
  return GetReply(CommandName(argv.front()));
}

RedisReply RedisConnection::Command(const std::vector<std::string>& args) {
  Append(args);
  return GetReply(CommandName(args.front()));
}

void RedisConnection::Append(const std::vector<std::string>& args) {
  std::vector<std::string_view> argv(args.begin(), args.end());
  AppendArgv(argv);
}

void RedisConnection::AppendArgv(const std::vector<std::string_view>& args) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view arg : args) {
    ptrs.push_back(arg.data());
    lens.push_back(arg.size());
  }
  char* raw = nullptr;
  int len = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), ptrs.data(), lens.data());
  CPtr<char, redisFreeCommand> encoded(raw);
  if (len < 0 || !encoded) throw RedisIoError("out of memory encoding a Redis command");
  output_.append(encoded.get(), static_cast<size_t>(len));
}

RedisReply RedisConnection::GetReply(std::string command) {
  if (broken_) {
    throw RedisIoError("the connection to Redis at " + endpoint() + " is broken; reconnect");
  }
  try {
    if (!output_.empty()) {
      socket_.WriteAll(output_, timeout_ms_, command);
      output_.clear();
    }
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
        throw RedisIoError("Redis at " + endpoint() +
                           " sent something that is not RESP: " + reader_->errstr);
      }
      if (raw != nullptr) {
        RedisReply reply(static_cast<redisReply*>(raw), std::move(command));
        ReplyView view = reply.view();
        if (view.is_error()) {
          if (const char* why = Demotion(view.str())) {
            throw RedisIoError("Redis at " + endpoint() + " " + why + "; reconnecting");
          }
        }
        return reply;
      }
      char buffer[16384];
      size_t n = socket_.ReadSome(buffer, sizeof buffer, timeout_ms_, command);
      if (redisReaderFeed(reader_.get(), buffer, n) != REDIS_OK) {
        throw RedisIoError("out of memory reading a reply from Redis at " + endpoint());
      }
    }
  } catch (const RedisError&) {
    broken_ = true;
    output_.clear();
    throw;
  }
}

int64_t RedisConnection::WaitForReplicas(int64_t replicas, int64_t timeout_ms) {
  RedisReply reply =
      Command({"WAIT", std::to_string(replicas), std::to_string(std::max<int64_t>(1, timeout_ms))});
  reply.view().ThrowIfError();
  return reply.view().integer();
}

}  // namespace warden
