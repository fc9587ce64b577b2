#include "storage/redis/cluster_client.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "base/errors.h"
#include "common/backoff.h"
#include "common/redis_redirect.h"

namespace warden {

namespace {

std::string Join(const std::vector<RedisNodeAddress>& nodes) {
  std::string out;
  for (const RedisNodeAddress& node : nodes) out += (out.empty() ? "" : ",") + node.ToString();
  return out;
}

// A CLUSTER SLOTS node entry: host, port, id, ... A nil or empty host is the node asked.

}  // namespace

ClusterClient::ClusterClient(const RedisDeployment& deployment, int64_t timeout_ms)
    : deployment_(deployment), timeout_ms_(timeout_ms) {}

std::unique_ptr<ClusterClient> ClusterClient::Connect(const RedisDeployment& deployment,
                                                      int64_t timeout_ms) {
  std::unique_ptr<ClusterClient> client(new ClusterClient(deployment, timeout_ms));
  std::string failures;
  for (const RedisNodeAddress& seed : deployment.servers) {
    std::string why;
    if (client->LoadSlots(seed, &why)) return client;
    failures += (failures.empty() ? "" : "; ") + ("seed " + seed.ToString() + ": " + why);
  }
  throw RedisConnectError("found no slot map of Redis Cluster " + deployment.Describe() + ": " +
                          failures);
}

bool ClusterClient::LoadSlots(const RedisNodeAddress& address, std::string* why) {
  try {
    RedisNodeConnection& node = Node(address);
    RedisReply reply = node.Command({"CLUSTER", "SLOTS"});
    ReplyView view = reply.view();
    if (view.is_error()) {
      *why = std::string(view.str());
      return false;
    }
    std::optional<std::vector<ClusterSlotRange>> parsed =
        ParseClusterSlots(view.raw(), address.host, why);
    if (!parsed) {
      *why = "unexpected reply to CLUSTER SLOTS: " + *why;
      return false;
    }
    std::vector<ClusterSlotRange> ranges = std::move(*parsed);
    std::string invalid;
    std::optional<ClusterSlotMap> map = ClusterSlotMap::Build(ranges, &invalid);
    if (!map) {
      *why = "an unusable slot map: " + invalid;
      return false;
    }
    if (map->Primaries().empty()) {
      *why = "no slot is assigned yet (CLUSTER ADDSLOTS, or redis-cli --cluster create)";
      return false;
    }
    map_ = std::move(map);
    ranges_ = std::move(ranges);
    endpoint_ = "cluster " + Join(map_->Primaries());
    return true;
  } catch (const RedisError& e) {
    nodes_.erase(address.ToString());  // a failed node is connected afresh next time
    *why = e.what();
    return false;
  }
}

void ClusterClient::RefreshSlots() {
  ++stats_.refreshes;
  std::vector<RedisNodeAddress> candidates = map_->Primaries();
  for (const RedisNodeAddress& seed : deployment_.servers) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) {
      candidates.push_back(seed);
    }
  }
  for (const RedisNodeAddress& address : candidates) {
    std::string why;
    if (LoadSlots(address, &why)) return;
  }
}

RedisNodeConnection& ClusterClient::Node(const RedisNodeAddress& address) {
  const std::string name = address.ToString();
  auto it = nodes_.find(name);
  if (it != nodes_.end() && it->second->healthy()) return *it->second;
  auto node = std::make_unique<RedisNodeConnection>(
      RedisNodeConnection::Open(deployment_, &address, timeout_ms_));
  RedisNodeConnection& out = *node;
  nodes_[name] = std::move(node);
  return out;
}

RedisReply ClusterClient::CommandAtPrimaryOf(std::string_view key,
                                             const std::vector<std::string>& args) {
  const int slot = ClusterKeySlot(key);
  if (!map_->PrimaryFor(slot)) RefreshSlots();
  const RedisNodeAddress* primary = map_->PrimaryFor(slot);
  if (!primary) {
    throw RedisIoError("no primary of Redis " + endpoint_ + " serves slot " + std::to_string(slot) +
                       " for " + RedisCommandName(args.front()));
  }
  const RedisNodeAddress address = *primary;
  try {
    return Node(address).Command(args);
  } catch (const RedisConnectError& e) {
    nodes_.erase(address.ToString());
    throw RedisIoError("Redis Cluster node " + address.ToString() + " (the primary of slot " +
                       std::to_string(slot) + ") is unreachable: " + e.what());
  }
}

std::optional<RedisNodeAddress> ClusterClient::AnyPrimary(
    const std::set<std::string>& unreachable) const {
  std::vector<RedisNodeAddress> primaries = map_->Primaries();
  std::erase_if(primaries, [&](const RedisNodeAddress& primary) {
    return unreachable.count(primary.ToString()) > 0;
  });
  if (primaries.empty()) return std::nullopt;
  for (const RedisNodeAddress& primary : primaries) {
    auto it = nodes_.find(primary.ToString());
    if (it != nodes_.end() && it->second->healthy()) return primary;
  }
  return primaries.front();
}

ClusterClient::Step ClusterClient::Decide(const ReplyView& reply, const std::string& replied_host) {
  Step step;
  if (!reply.is_error()) return step;
  RedisRedirect redirect = RedisRedirect::Classify(reply.str());
  switch (redirect.kind) {
    case RedisRedirect::Kind::kMoved:
    case RedisRedirect::Kind::kAsk:
      step.kind =
          redirect.kind == RedisRedirect::Kind::kMoved ? Step::Kind::kMoved : Step::Kind::kAsk;
      step.slot = redirect.slot;
      step.target = redirect.endpoint;
      if (step.target.host.empty()) step.target.host = replied_host;
      break;
    case RedisRedirect::Kind::kTryAgain:
    case RedisRedirect::Kind::kClusterDown:
      step.kind = Step::Kind::kRetryLater;
      break;
    default:
      break;
  }
  return step;
}

void ClusterClient::Append(const std::vector<std::string>& args) {
  ClusterRoute route = ClusterRoute::For(args);
  if (route.kind == ClusterRoute::Kind::kRefused) throw RedisReplyError(route.why);
  Pending pending;
  pending.argv = args;
  pending.name = RedisCommandName(args.front());
  pending.route = std::move(route);
  queued_.push_back(std::move(pending));
}

RedisReply ClusterClient::GetReply(std::string command) {
  if (broken_) {
    throw RedisIoError("the connection to Redis " + endpoint_ + " is broken; reconnect");
  }
  if (ready_.empty()) {
    if (queued_.empty()) throw RedisReplyError("no reply pending for " + command);
    std::vector<Pending> batch = std::move(queued_);
    queued_.clear();
    try {
      Execute(batch);
    } catch (const RedisIoError&) {
      broken_ = true;
      throw;
    } catch (const RedisConnectError&) {
      broken_ = true;
      throw;
    }
    for (Pending& pending : batch) ready_.push_back(std::move(*pending.reply));
  }
  RedisReply reply = std::move(ready_.front());
  ready_.pop_front();
  return reply;
}

void ClusterClient::ExecuteOnEveryPrimary(Pending& pending) {
  // Every primary should have it (a script's SHA): one that cannot be reached is skipped, as
  // the commands it would serve fail on their own.
  std::string failures;
  for (const RedisNodeAddress& primary : map_->Primaries()) {
    try {
      RedisReply reply = Node(primary).Command(pending.argv);
      if (!pending.reply || (pending.reply->view().is_error() && !reply.view().is_error())) {
        pending.reply.emplace(std::move(reply));
      }
    } catch (const RedisError& e) {
      nodes_.erase(primary.ToString());
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (!pending.reply) {
    throw RedisIoError("no primary of Redis " + endpoint_ + " took " + pending.name + ": " +
                       failures);
  }
}

void ClusterClient::Execute(std::vector<Pending>& batch) {
  Backoff backoff(kRetryBaseMs, kRetryMaxMs, Backoff::Jitter::kFull);
  // Nodes that could not be reached, and slots no node served: each gets one more chance
  // after the map is read again.
  std::set<std::string> unreachable;
  int retries = 0;
  const auto started = std::chrono::steady_clock::now();

  for (Pending& pending : batch) {
    if (pending.route.kind == ClusterRoute::Kind::kEveryPrimary) ExecuteOnEveryPrimary(pending);
  }
  while (true) {
    // Group what is left by the node it goes to, in order.
    std::vector<std::pair<RedisNodeAddress, std::vector<Pending*>>> groups;
    bool refresh = false;
    for (Pending& pending : batch) {
      if (pending.reply) continue;
      std::optional<RedisNodeAddress> target = pending.ask;
      if (!target && pending.route.kind == ClusterRoute::Kind::kAnyNode) {
        target = AnyPrimary(unreachable);
      }
      if (!target && pending.route.kind == ClusterRoute::Kind::kSlot) {
        if (const RedisNodeAddress* primary = map_->PrimaryFor(pending.route.slot)) {
          target = *primary;
        }
      }
      if (!target) {
        const std::string what = pending.route.slot >= 0
                                     ? "slot " + std::to_string(pending.route.slot)
                                     : pending.name + " (no key)";
        if (unreachable.insert(what).second) {
          refresh = true;  // perhaps a map from before the slot was assigned
          continue;
        }
        throw RedisIoError(pending.route.slot >= 0
                               ? "no node of Redis " + endpoint_ + " serves " + what +
                                     " (a primary is missing and has no replica to take over)"
                               : "no primary of Redis " + endpoint_ + " can be reached for " +
                                     what);
      }
      auto group = std::find_if(groups.begin(), groups.end(),
                                [&](const auto& g) { return g.first == *target; });
      if (group == groups.end()) {
        groups.push_back({*target, {}});
        group = groups.end() - 1;
      }
      group->second.push_back(&pending);
    }

    std::string wait_error;
    int wait_slot = -1;
    for (auto& group : groups) {
      // Named, not a structured binding: C++17 lambdas cannot capture bindings (clang refuses).
      const RedisNodeAddress& address = group.first;
      std::vector<Pending*>& members = group.second;
      auto where = [&address](const Pending& pending) {
        return "Redis Cluster node " + address.ToString() +
               (pending.route.slot >= 0
                    ? " (the primary of slot " + std::to_string(pending.route.slot) + ")"
                    : std::string());
      };
      RedisNodeConnection* node = nullptr;
      try {
        node = &Node(address);
      } catch (const RedisConnectError& e) {
        nodes_.erase(address.ToString());
        if (unreachable.insert(address.ToString()).second) {
          refresh = true;  // a failover may have given its slots to another node
          continue;
        }
        throw RedisIoError(where(*members.front()) + " is unreachable: " + e.what());
      }
      for (Pending* pending : members) {
        if (pending->ask) node->Append({"ASKING"});
        node->Append(pending->argv);
      }
      for (Pending* pending : members) {
        std::optional<RedisReply> read;
        try {
          if (pending->ask) node->GetReply("ASKING");  // +OK; a refusal shows in the next reply
          read.emplace(node->GetReply(pending->name));
        } catch (const RedisIoError& e) {
          throw RedisIoError(where(*pending) + ": " + e.what());
        }
        pending->ask.reset();
        RedisReply reply = std::move(*read);
        Step step = Decide(reply.view(), address.host);
        switch (step.kind) {
          case Step::Kind::kDone:
            pending->reply.emplace(std::move(reply));
            break;
          case Step::Kind::kMoved:
          case Step::Kind::kAsk:
            if (++pending->redirects > kMaxRedirects) {
              throw RedisIoError("Redis " + endpoint_ + " redirected " + pending->name +
                                 " more than " + std::to_string(kMaxRedirects) +
                                 " times (last: " + std::string(reply.view().str()) + ")");
            }
            if (step.kind == Step::Kind::kMoved) {
              ++stats_.moved;
              map_->Moved(step.slot, step.target);
              refresh = true;  // one slot moved: others probably did too
            } else {
              ++stats_.asked;
              pending->ask = step.target;
            }
            break;
          case Step::Kind::kRetryLater:
            wait_error = std::string(reply.view().str());
            wait_slot = pending->route.slot;
            break;
        }
      }
    }

    const bool done = std::all_of(batch.begin(), batch.end(),
                                  [](const Pending& p) { return p.reply.has_value(); });
    if (done) return;
    if (refresh) RefreshSlots();
    if (!wait_error.empty()) {
      if (++retries > kMaxRetries) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        throw RedisIoError("Redis " + endpoint_ + " cannot serve " +
                           (wait_slot >= 0 ? "slot " + std::to_string(wait_slot) : "the command") +
                           ": " + wait_error + " (still after " + std::to_string(kMaxRetries) +
                           " tries over " + std::to_string(ms) + " ms)");
      }
      ++stats_.retried;
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff.Next()));
    }
  }
}

std::vector<std::string> ClusterClient::ScanKeys(const std::string& pattern) {
  std::set<std::string> keys;
  try {
    for (const RedisNodeAddress& primary : map_->Primaries()) {
      RedisNodeConnection& node = Node(primary);
      std::string cursor = "0";
      do {
        RedisReply reply = node.Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        ReplyView view = reply.view();
        view.ThrowIfError();
        cursor = std::string(view[0].str());
        for (size_t i = 0; i < view[1].size(); ++i) keys.emplace(view[1][i].str());
      } while (cursor != "0");
    }
  } catch (const RedisIoError&) {
    broken_ = true;
    throw;
  } catch (const RedisConnectError& e) {
    broken_ = true;
    throw RedisIoError(e.what());
  }
  return std::vector<std::string>(keys.begin(), keys.end());
}

}  // namespace warden
