#include "storage/redis/redis_connection.h"

#include <algorithm>
#include <set>

#include "base/errors.h"
#include "common/sentinel_failover.h"

namespace warden {

RedisConnection::RedisConnection(const RedisDeployment& deployment, int64_t timeout_ms)
    : deployment_(deployment), timeout_ms_(timeout_ms) {}

RedisConnection RedisConnection::Connect(const RedisDeployment& deployment, int64_t timeout_ms) {
  switch (deployment.kind) {
    case RedisDeployment::Kind::kSentinel:
      return ConnectViaSentinels(deployment, timeout_ms);
    case RedisDeployment::Kind::kCluster: {
      RedisConnection conn(deployment, timeout_ms);
      conn.cluster_ = ClusterClient::Connect(deployment, timeout_ms);
      conn.found_via_ = "cluster slots";
      return conn;
    }
    case RedisDeployment::Kind::kSingle:
      break;
  }
  RedisConnection conn(deployment, timeout_ms);
  conn.node_ = std::make_unique<RedisNodeConnection>(RedisNodeConnection::Open(
      deployment, deployment.socket_path.empty() ? &deployment.servers.front() : nullptr,
      timeout_ms));
  return conn;
}

std::optional<RedisNodeAddress> RedisConnection::NamedPrimary(const ReplyView& reply) {
  if (!reply.is_array() || reply.size() != 2) return std::nullopt;
  return RedisNodeAddress{std::string(reply[0].str()), static_cast<int>(reply[1].integer())};
}

RedisConnection RedisConnection::ConnectViaSentinels(const RedisDeployment& deployment,
                                                     int64_t timeout_ms) {
  using NodeKind = RedisNodeConnection::NodeKind;
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
      RedisNodeConnection sentinel =
          RedisNodeConnection::Open(deployment, &sentinel_address, timeout_ms, NodeKind::kSentinel);
      {
        RedisReply reply =
            sentinel.Command({"SENTINEL", "get-master-addr-by-name", deployment.master_name});
        ReplyView view = reply.view();
        if (view.is_nil()) {
          note(sentinel_name + " does not monitor \"" + deployment.master_name + "\"");
          continue;
        }
        if (view.is_error() && !sentinel.sentinel_auth_error().empty()) {
          note(sentinel.sentinel_auth_error());
          continue;
        }
        view.ThrowIfError();
        std::optional<RedisNodeAddress> named = NamedPrimary(view);
        if (!named) {
          note(sentinel_name + " gave an unexpected answer");
          continue;
        }
        primary = *named;
      }
      try {
        auto node = std::make_unique<RedisNodeConnection>(
            RedisNodeConnection::Open(deployment, &primary, timeout_ms, NodeKind::kData));
        RedisReply role = node->Command({"ROLE"});
        ReplyView view = role.view();
        view.ThrowIfError();
        if (!view.is_array() || view.size() == 0 || view[0].str() != "master") {
          note(sentinel_name + " named " + primary.ToString() +
               ", which is not a primary (a failover is under way)");
          continue;
        }
        RedisConnection conn(deployment, timeout_ms);
        conn.node_ = std::move(node);
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
      if (std::optional<RedisNodeConnection> promoted =
              ConnectToPromotedReplica(deployment, sentinel, primary, timeout_ms, note)) {
        RedisConnection conn(deployment, timeout_ms);
        conn.node_ = std::make_unique<RedisNodeConnection>(std::move(*promoted));
        conn.found_via_ = sentinel_name + ", promoted replica (" + primary.ToString() +
                          " did not answer; +switch-master not yet announced)";
        conn.promoted_from_ = primary.ToString();
        return conn;
      }
    } catch (const RedisError& e) {
      note(e.what());
    }
  }
  throw RedisConnectError("found no primary for Sentinel master \"" + deployment.master_name +
                          "\": " + failures);
}

std::optional<RedisNodeConnection> RedisConnection::ConnectToPromotedReplica(
    const RedisDeployment& deployment, RedisNodeConnection& sentinel,
    const RedisNodeAddress& silent, int64_t timeout_ms,
    const std::function<void(const std::string&)>& note) {
  constexpr size_t kMaxReplicas = 8;  // each costs a connect and a ROLE, within the timeout
  RedisReply reply = sentinel.Command({"SENTINEL", "REPLICAS", deployment.master_name});
  ReplyView list = reply.view();
  if (!list.is_array()) return std::nullopt;  // an error: no list, nothing promoted to find
  std::vector<ReplicaRole> answers;
  std::vector<std::pair<RedisNodeAddress, RedisNodeConnection>> masters;
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
      RedisNodeConnection conn = RedisNodeConnection::Open(
          deployment, &replica->address, timeout_ms, RedisNodeConnection::NodeKind::kData);
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
  if (node_) return node_->Command(args);
  Append(std::vector<std::string>(args.begin(), args.end()));
  return GetReply(RedisCommandName(*args.begin()));
}

RedisReply RedisConnection::Command(const std::vector<std::string>& args) {
  Append(args);
  return GetReply(RedisCommandName(args.front()));
}

void RedisConnection::Append(const std::vector<std::string>& args) {
  if (node_) {
    node_->Append(args);
  } else {
    cluster_->Append(args);
  }
}

RedisReply RedisConnection::GetReply(std::string command) {
  return node_ ? node_->GetReply(std::move(command)) : cluster_->GetReply(std::move(command));
}

std::vector<std::string> RedisConnection::ScanKeys(const std::string& pattern) {
  if (cluster_) return cluster_->ScanKeys(pattern);
  std::set<std::string> keys;  // SCAN may return a key twice
  std::string cursor = "0";
  do {
    RedisReply reply = node_->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    ReplyView view = reply.view();
    view.ThrowIfError();
    cursor = std::string(view[0].str());
    for (size_t i = 0; i < view[1].size(); ++i) keys.emplace(view[1][i].str());
  } while (cursor != "0");
  return std::vector<std::string>(keys.begin(), keys.end());
}

const std::string& RedisConnection::endpoint() const {
  return node_ ? node_->endpoint() : cluster_->endpoint();
}

bool RedisConnection::healthy() const { return node_ ? node_->healthy() : cluster_->healthy(); }

RedisReply RedisConnection::CommandAtPrimaryOf(std::string_view key,
                                               const std::vector<std::string>& args) {
  if (cluster_) return cluster_->CommandAtPrimaryOf(key, args);
  return Command(args);
}

int64_t RedisConnection::WaitForReplicas(int64_t replicas, int64_t timeout_ms,
                                         std::string_view key) {
  RedisReply reply = CommandAtPrimaryOf(
      key, {"WAIT", std::to_string(replicas), std::to_string(std::max<int64_t>(1, timeout_ms))});
  reply.view().ThrowIfError();
  return reply.view().integer();
}

}  // namespace warden
