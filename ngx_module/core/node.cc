#include "node.h"

#include <unistd.h>

#include <algorithm>

namespace warden {

Node::Node(int32_t pid, Clock clock, AsyncRedis::AttachFn attach, LogFn log)
    : pid_(pid), clock_(std::move(clock)), attach_(std::move(attach)), log_(std::move(log)) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  node_name_ = host;
}

Node::~Node() { Shutdown(); }

bool Node::AttachBlacklist(void* region, size_t bytes) { return blacklist_.Attach(region, bytes); }

int Node::AddLimitZone(const std::string& name, void* region, size_t bytes, int64_t rate,
                       int64_t sync_ms) {
  auto zone = std::make_unique<Zone>();
  if (!zone->map.Attach(region, bytes)) return -1;
  zone->name = name;
  zone->rate = rate;
  zone->sync_ms = sync_ms;
  zone->limiter = std::make_unique<RateLimiter>(&zone->map);
  if (sync_ms > 0) tick_ms_ = std::max<int64_t>(10, std::min(tick_ms_, sync_ms));
  zones_.push_back(std::move(zone));
  return static_cast<int>(zones_.size() - 1);
}

int Node::AddAutoban(int limit_zone, AutobanRule rule, void* region, size_t bytes) {
  if (limit_zone < 0 || static_cast<size_t>(limit_zone) >= zones_.size()) return -1;
  auto ban = std::make_unique<Ban>();
  if (!ban->strikes.Attach(region, bytes)) return -1;
  rule.zone = zones_[static_cast<size_t>(limit_zone)]->name;
  ban->autoban = std::make_unique<Autoban>(std::move(rule), &ban->strikes, &blacklist_,
                                           node_name_, pid_);
  autobans_.push_back(std::move(ban));
  return static_cast<int>(autobans_.size() - 1);
}

bool Node::Strike(int autoban, const IpAddress& addr, int64_t now_ms) {
  Autoban& rule = *autobans_.at(static_cast<size_t>(autoban))->autoban;
  if (!rule.Strike(addr, now_ms)) return false;
  // Out to the fleet now, not at the next tick: Send only queues, nothing waits.
  if (autoban_redis_) rule.Flush(autoban_redis_.get(), *schema_);
  return true;
}

void Node::ConnectRedis(const RedisEndpoint& endpoint) {
  schema_ = std::make_unique<RedisSchema>(endpoint.prefix);
  if (!autobans_.empty()) {
    autoban_redis_ = std::make_unique<AsyncRedis>(endpoint, "autoban", clock_, attach_, log_);
  }
  if (blacklist_.attached()) {
    blacklist_sync_ =
        std::make_unique<BlacklistSync>(endpoint, &blacklist_, pid_, clock_, attach_, log_);
  }
  bool any_sync = std::any_of(zones_.begin(), zones_.end(),
                              [](const auto& z) { return z->sync_ms > 0; });
  if (!any_sync) return;
  commands_ = std::make_unique<AsyncRedis>(endpoint, "rate limit sync", clock_, attach_, log_);
  RedisSchema schema(endpoint.prefix);
  for (auto& z : zones_) {
    if (z->sync_ms <= 0) continue;
    z->sync = std::make_unique<LimitSync>(z->name, z->rate, z->sync_ms, z->limiter.get(),
                                          commands_.get(), schema, pid_, clock_);
  }
}

LeakyBucketVerdict Node::Limit(int zone, std::string_view key, const LeakyBucketParams& params,
                               int64_t now_ms) {
  Zone& z = *zones_.at(static_cast<size_t>(zone));
  return z.limiter->Take(key, params, now_ms, pid_, z.sync_ms > 0);
}

void Node::Tick() {
  if (blacklist_sync_) blacklist_sync_->Tick();
  if (autoban_redis_) {
    autoban_redis_->Tick();
    for (auto& b : autobans_) b->autoban->Flush(autoban_redis_.get(), *schema_);
  }
  if (!commands_) return;
  // One worker per node pushes the node's counts: the same one that follows the blacklist.
  bool leader = blacklist_sync_ && blacklist_sync_->leader();
  if (!leader) {
    commands_->Close();
    return;
  }
  commands_->Tick();
  for (auto& z : zones_) {
    if (z->sync) z->sync->Tick();
  }
}

void Node::Shutdown() {
  if (commands_) commands_->Close();
  if (autoban_redis_) autoban_redis_->Close();
  if (blacklist_sync_) blacklist_sync_->Shutdown();
}

}  // namespace warden
