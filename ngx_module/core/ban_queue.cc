#include "core/ban_queue.h"

#include <hiredis/hiredis.h>

#include <random>

namespace warden {

Cidr BanScope(const IpAddress& addr, int ipv6_prefix) {
  const bool global_unicast = (addr.bytes()[0] & 0xe0) == 0x20;
  if (addr.IsV4() || !global_unicast || ipv6_prefix < 1 || ipv6_prefix >= 128) {
    return Cidr(addr, 128);
  }
  return Cidr(addr, ipv6_prefix);
}

BanRequest BanPolicy::Request(const Cidr& scope) const {
  BanRequest ban;
  ban.scope = scope;
  ban.bantime_ms = bantime_ms;
  ban.factor = factor;
  if (maxtime_ms > 0) ban.maxtime_ms = maxtime_ms;  // else BanRequest's default, 7 days
  return ban;
}

BanQueue::BanQueue(BlacklistTable* blacklist, std::string node_name, int32_t pid, LogFn log,
                   std::string what)
    : blacklist_(blacklist),
      node_name_(std::move(node_name)),
      pid_(pid),
      log_(std::move(log)),
      what_(std::move(what)) {}

void BanQueue::Ban(BanRequest request, int64_t now_ms) {
  const std::string scope = request.scope.ToString();
  // Enforced here at once with the base ban time; Redis's answer (maybe longer) follows
  // through the change stream.
  if (blacklist_ && blacklist_->attached()) {
    BlacklistTable::WriteBatch batch(*blacklist_, pid_);
    if (!batch.Upsert(request.scope, now_ms + request.bantime_ms, request.source) && log_) {
      // Counted in warden_blacklist_dropped_total too; Redis still gets the ban.
      log_(LogLevel::kError,
           what_ + " of " + scope + " not enforced on this node: warden_blacklist_zone is full");
    }
  }
  if (queued_.size() < kMaxQueued) {
    queued_.push_back(std::move(request));
  } else if (++dropped_ % 100 == 1 && log_) {
    log_(LogLevel::kError, what_ + " of " + scope +
                               " not sent to redis: " + std::to_string(kMaxQueued) +
                               " bans wait for it already (" + std::to_string(dropped_) +
                               " dropped so far); the ban holds on this node only");
  }
}

void BanQueue::Flush(AsyncClient* redis, const RedisSchema& schema) {
  if (!redis || in_flight_ || queued_.empty() || !redis->connected()) return;
  const BanRequest& ban = queued_.front();
  std::random_device rd;
  std::string epoch = std::to_string(rd()) + std::to_string(rd());
  std::vector<std::string> args = {"EVAL",
                                   RedisSchema::kAutobanScript,
                                   "6",
                                   schema.BlacklistEntries(),
                                   schema.BlacklistExpiry(),
                                   schema.BlacklistSeq(),
                                   schema.BlacklistLog(),
                                   schema.BlacklistEpoch(),
                                   schema.BanCounter(ban.history),
                                   std::to_string(RedisSchema::kLogMaxLen),
                                   epoch,
                                   ban.scope.ToString(),
                                   std::to_string(ban.bantime_ms),
                                   std::to_string(ban.factor),
                                   std::to_string(ban.maxtime_ms),
                                   ban.reason_head,
                                   ban.reason_tail,
                                   node_name_,
                                   EntrySourceName(ban.source)};
  in_flight_ = true;
  bool sent = redis->Send(args, redis->endpoint().timeout_ms, [this, redis](redisReply* r) {
    in_flight_ = false;
    if (!r) return;  // kept queued: sent again once Redis answers
    if (r->type == REDIS_REPLY_ERROR) {
      redis->Log(LogLevel::kError, what_ + " of " + queued_.front().scope.ToString() +
                                       " failed: " + std::string(r->str, r->len));
    }
    queued_.pop_front();
  });
  if (!sent) in_flight_ = false;
}

}  // namespace warden
