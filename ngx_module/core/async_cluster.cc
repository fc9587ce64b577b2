#include "core/async_cluster.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "common/redis_redirect.h"

namespace warden {

namespace {

constexpr int64_t kMinBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 5000;

}  // namespace

std::unique_ptr<AsyncClient> AsyncClient::Open(RedisEndpoint endpoint, std::string purpose,
                                               Clock clock, AttachFn attach, LogFn log) {
  if (endpoint.cluster()) {
    return std::make_unique<AsyncCluster>(std::move(endpoint), std::move(purpose), std::move(clock),
                                          std::move(attach), std::move(log));
  }
  return std::make_unique<AsyncRedis>(std::move(endpoint), std::move(purpose), std::move(clock),
                                      std::move(attach), std::move(log));
}

AsyncCluster::AsyncCluster(RedisEndpoint endpoint, std::string purpose, Clock clock,
                           AttachFn attach, LogFn log)
    : endpoint_(std::move(endpoint)),
      purpose_(std::move(purpose)),
      clock_(std::move(clock)),
      attach_(std::move(attach)),
      log_(std::move(log)),
      backoff_(kMinBackoffMs, kMaxBackoffMs, Backoff::Jitter::kEqual,
               std::random_device{}() ^ static_cast<uint32_t>(getpid())) {}

AsyncCluster::~AsyncCluster() {
  // Pending callbacks run (with nullptr) while every member is still there.
  Close();
  retired_.clear();
  nodes_.clear();
}

bool AsyncCluster::connected() const { return map_ && clock_() >= down_until_ms_; }

uint64_t AsyncCluster::errors() const {
  uint64_t total = errors_ + retired_errors_;
  for (const auto& entry : nodes_) total += entry.second->errors();
  return total;
}

void AsyncCluster::ForEachConnection(const std::function<void(const AsyncRedis&)>& fn) const {
  for (const auto& entry : nodes_) fn(*entry.second);
}

void AsyncCluster::MarkHealthy() {
  if (replied_) replied_->MarkHealthy();
}

void AsyncCluster::NoteError(const std::string& what) {
  ++errors_;
  // A cluster in trouble says the same thing many times a second: once per change.
  if (what == last_logged_) return;
  last_logged_ = what;
  log_(LogLevel::kError, what + " (" + purpose_ + ")");
}

void AsyncCluster::DisconnectSoon(const std::string& why) {
  if (!why.empty()) NoteError(why);
  for (auto& entry : nodes_) entry.second->DisconnectSoon("");
}

void AsyncCluster::Close() {
  for (auto& entry : nodes_) entry.second->Close();
}

bool AsyncCluster::IsPrimary(const RedisNodeAddress& address) const {
  return std::find(primaries_.begin(), primaries_.end(), address) != primaries_.end();
}

AsyncRedis* AsyncCluster::Node(const RedisNodeAddress& address, bool create) {
  const std::string name = address.ToString();
  auto it = nodes_.find(name);
  if (it != nodes_.end()) return it->second.get();
  if (!create) return nullptr;
  RedisEndpoint ep = endpoint_;
  ep.host = address.host;
  ep.port = address.port;
  ep.host_name = address.host;  // what TLS checks: the name configured for a seed
  for (size_t i = 0; i < endpoint_.cluster_seeds.size(); ++i) {
    if (endpoint_.cluster_seeds[i] == address && i < endpoint_.cluster_seed_names.size()) {
      ep.host_name = endpoint_.cluster_seed_names[i];
    }
  }
  ep.cluster_seeds.clear();
  ep.cluster_seed_names.clear();
  ep.unix_path.clear();
  ep.db = 0;
  ep.locator = nullptr;
  auto conn = std::make_unique<AsyncRedis>(std::move(ep), purpose_ + " on cluster node " + name,
                                           clock_, attach_, log_);
  conn->set_on_connect([this, address] {
    if (map_ && IsPrimary(address) && on_connect_) on_connect_();
  });
  AsyncRedis* out = conn.get();
  nodes_.emplace(name, std::move(conn));
  out->Tick();  // connects now: a command may follow at once
  return out;
}

void AsyncCluster::Tick() {
  for (auto& conn : retired_) retired_errors_ += conn->errors();
  retired_.clear();
  if (map_ && !refresh_in_flight_) {
    // A seed that serves no slot is not needed any more.
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      RedisNodeAddress address{it->second->endpoint().host, it->second->endpoint().port};
      if (IsPrimary(address)) {
        ++it;
        continue;
      }
      retired_.push_back(std::move(it->second));
      it = nodes_.erase(it);
    }
  }
  for (auto& entry : nodes_) entry.second->Tick();
  if (refresh_wanted_ && !refresh_in_flight_ && clock_() >= next_refresh_ms_) AskForSlots();
}

void AsyncCluster::AskForSlots() {
  std::vector<RedisNodeAddress> candidates = primaries_;
  for (const RedisNodeAddress& seed : endpoint_.cluster_seeds) {
    if (!IsPrimary(seed)) candidates.push_back(seed);
  }
  next_refresh_ms_ = clock_() + kRefreshMinMs;  // none reachable now: again soon
  for (size_t tries = 0; tries < candidates.size(); ++tries, ++next_candidate_) {
    const RedisNodeAddress address = candidates[next_candidate_ % candidates.size()];
    AsyncRedis* node = Node(address, true);
    if (!node->connected()) continue;
    refresh_in_flight_ = true;
    if (node->Send({"CLUSTER", "SLOTS"}, endpoint_.timeout_ms,
                   [this, address](redisReply* r) { OnSlots(r, address); })) {
      return;
    }
    refresh_in_flight_ = false;
  }
}

void AsyncCluster::OnSlots(redisReply* r, const RedisNodeAddress& from) {
  refresh_in_flight_ = false;
  next_refresh_ms_ = clock_() + kRefreshMinMs;
  std::string why;
  std::optional<ClusterSlotMap> map;
  if (!r) {
    why = "no answer";
  } else if (r->type == REDIS_REPLY_ERROR) {
    why = std::string(r->str, r->len);
  } else if (std::optional<std::vector<ClusterSlotRange>> ranges =
                 ParseClusterSlots(r, from.host, &why)) {
    map = ClusterSlotMap::Build(*ranges, &why);
    if (map && map->Primaries().empty()) {
      why = "no slot is assigned yet (redis-cli --cluster create)";
      map.reset();
    }
  }
  if (!map) {
    ++next_candidate_;  // the next candidate is asked next time
    NoteError("cannot read the redis cluster's slot map from " + from.ToString() + ": " + why);
    return;
  }
  const bool first = !map_;
  map_ = std::move(map);
  primaries_ = map_->Primaries();
  refresh_wanted_ = false;
  ++stats_.refreshes;
  Tell(ClusterEvent::kSlotMap);
  if (first) {
    std::string names;
    for (const RedisNodeAddress& p : primaries_) names += (names.empty() ? "" : ",") + p.ToString();
    log_(LogLevel::kInfo, "redis cluster: " + std::to_string(primaries_.size()) +
                              " primaries serve the slots (" + names + "; " + purpose_ + ")");
    last_logged_.clear();
    if (on_connect_) on_connect_();
  }
}

bool AsyncCluster::Send(const std::vector<std::string>& args, int64_t budget_ms,
                        Callback callback) {
  if (!connected()) return false;
  ClusterRoute route = ClusterRoute::For(args);
  if (route.kind == ClusterRoute::Kind::kRefused) {
    NoteError("cannot send to the redis cluster: " + route.why);
    return false;
  }
  auto cmd = std::make_shared<Command>(Command{args, budget_ms, std::move(callback)});
  if (route.kind == ClusterRoute::Kind::kSlot) {
    const RedisNodeAddress* primary = map_->PrimaryFor(route.slot);
    if (!primary) {
      RequestRefresh();
      return false;
    }
    const RedisNodeAddress address = *primary;
    AsyncRedis* node = Node(address, true);
    if (!node->connected()) {
      RequestRefresh();  // down, or failed over: the map says
      return false;
    }
    return Dispatch(node, address, cmd, false);
  }
  // kAnyNode goes to the first primary that can take it; kEveryPrimary (SCRIPT LOAD) to each,
  // the callback with the first one's reply (a script's digest is the same everywhere).
  bool sent = false;
  const std::vector<RedisNodeAddress> primaries = primaries_;
  for (const RedisNodeAddress& address : primaries) {
    AsyncRedis* node = Node(address, true);
    if (!node->connected()) continue;
    if (!sent) {
      sent = Dispatch(node, address, cmd, false);
      if (sent && route.kind == ClusterRoute::Kind::kAnyNode) return true;
    } else {
      node->Send(args, budget_ms, [](redisReply*) {});
    }
  }
  if (!sent) RequestRefresh();
  return sent;
}

bool AsyncCluster::Dispatch(AsyncRedis* node, const RedisNodeAddress& address,
                            std::shared_ptr<Command> cmd, bool asking) {
  if (asking && !node->Send({"ASKING"}, cmd->budget_ms, [](redisReply*) {})) return false;
  const int64_t budget_ms = cmd->budget_ms;
  const std::vector<std::string>& args = cmd->args;
  return node->Send(args, budget_ms,
                    [this, cmd, address, node](redisReply* r) { OnReply(cmd, address, node, r); });
}

void AsyncCluster::Redirect(const std::shared_ptr<Command>& cmd, const RedisNodeAddress& to,
                            bool asking) {
  if (cmd->redirects >= kMaxRedirects) {
    NoteError("redis cluster: a command was redirected " + std::to_string(cmd->redirects) +
              " times, the last to " + to.ToString() + "; given up");
    cmd->callback(nullptr);
    return;
  }
  ++cmd->redirects;
  AsyncRedis* node = Node(to, true);
  if (node->connected() && Dispatch(node, to, cmd, asking)) return;
  cmd->callback(nullptr);
}

void AsyncCluster::OnReply(const std::shared_ptr<Command>& cmd, const RedisNodeAddress& from,
                           AsyncRedis* node, redisReply* r) {
  if (!r) {
    RequestRefresh();  // the node may be gone for good: a failover moves its slots
    cmd->callback(nullptr);
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::string_view text(r->str, r->len);
    RedisRedirect redirect = RedisRedirect::Classify(text);
    switch (redirect.kind) {
      case RedisRedirect::Kind::kMoved:
      case RedisRedirect::Kind::kAsk: {
        RedisNodeAddress to = redirect.endpoint;
        if (to.host.empty()) to.host = from.host;  // Redis 7: the node that replied
        if (redirect.kind == RedisRedirect::Kind::kMoved) {
          ++stats_.moved;
          Tell(ClusterEvent::kMoved);
          if (map_ && map_->Moved(redirect.slot, to)) primaries_ = map_->Primaries();
          RequestRefresh();
        } else {
          ++stats_.asked;
          Tell(ClusterEvent::kAsk);
        }
        Redirect(cmd, to, redirect.kind == RedisRedirect::Kind::kAsk);
        return;
      }
      case RedisRedirect::Kind::kTryAgain:
      case RedisRedirect::Kind::kClusterDown:
        ++stats_.down;
        Tell(ClusterEvent::kDown);
        down_until_ms_ = clock_() + backoff_.Next();
        RequestRefresh();
        NoteError("redis cluster node " + from.ToString() + " answered " +
                  std::string(text.substr(0, text.find(' '))) +
                  "; commands fail (callers decide locally) while it backs off");
        cmd->callback(nullptr);
        return;
      case RedisRedirect::Kind::kReadOnly:
      case RedisRedirect::Kind::kMasterDown:
      case RedisRedirect::Kind::kLoading:
        RequestRefresh();  // a failover: the connection leaves the node, the map says where
        break;
      default:
        break;
    }
  } else if (down_until_ms_ != 0) {
    down_until_ms_ = 0;
    backoff_.Reset();
  }
  struct Replied {
    AsyncRedis** slot;
    ~Replied() { *slot = nullptr; }
  } replied{&replied_};
  replied_ = node;
  cmd->callback(r);
}

}  // namespace warden
