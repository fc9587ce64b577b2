#include "core/autoban.h"

#include <hiredis/hiredis.h>

#include <cmath>
#include <random>

namespace warden {

namespace {

constexpr int64_t kDefaultMaxMs = 7LL * 24 * 3600 * 1000;

std::string Millis(int64_t ms) { return std::to_string(ms); }

}  // namespace

Autoban::Autoban(AutobanRule rule, ShmMap* strikes, BlacklistTable* blacklist,
                 std::string node_name, int32_t pid, LogFn log)
    : rule_(std::move(rule)),
      strikes_(strikes),
      blacklist_(blacklist),
      node_name_(std::move(node_name)),
      pid_(pid),
      log_(std::move(log)) {
  if (rule_.maxtime_ms <= 0) rule_.maxtime_ms = kDefaultMaxMs;
  if (rule_.strikes == 0) rule_.strikes = 1;
  if (rule_.ipv6_prefix < 1 || rule_.ipv6_prefix > 128) rule_.ipv6_prefix = 128;
}

Cidr Autoban::Scope(const IpAddress& addr) const {
  // Only global unicast (2000::/3) is widened: a network around ::1, ::/96 or ::ffff:0:0/96
  // (IPv4-mapped), 64:ff9b::/96 (NAT64) and the like would hold IPv4 clients, or everyone.
  const bool global_unicast = (addr.bytes()[0] & 0xe0) == 0x20;
  if (addr.IsV4() || !global_unicast || rule_.ipv6_prefix >= 128) return Cidr(addr, 128);
  return Cidr(addr, rule_.ipv6_prefix);
}

bool Autoban::Strike(const IpAddress& addr, int64_t now_ms) {
  const Cidr scope = Scope(addr);
  std::string_view key(reinterpret_cast<const char*>(scope.network().bytes().data()), 16);
  {
    ShmMap::Lock lock(*strikes_, pid_);
    bool fresh = false;
    ShmMap::Slot* slot = strikes_->FindOrInsert(key, now_ms, &fresh);
    if (!slot) return false;
    Strikes& s = ShmMap::Value<Strikes>(slot);
    if (s.banned_until_ms > now_ms) {
      // Banned already, unless the ban was lifted (`warden unban`) before it ran out: then
      // the address starts afresh, as fail2ban counts again after an unban.
      if (!blacklist_ || !blacklist_->attached() || blacklist_->Lookup(addr, now_ms)) return false;
      s.banned_until_ms = 0;
      fresh = true;
    }
    int64_t find = rule_.findtime_ms;
    int64_t elapsed = now_ms - s.window_start_ms;
    if (fresh || elapsed >= 2 * find || elapsed < 0) {
      s.previous = 0;
      s.current = 0;
      s.window_start_ms = now_ms;
      elapsed = 0;
    } else if (elapsed >= find) {
      s.previous = s.current;
      s.current = 0;
      s.window_start_ms += find;
      elapsed -= find;
    }
    s.current++;
    double estimate =
        s.previous * static_cast<double>(find - elapsed) / static_cast<double>(find) + s.current;
    if (estimate + 1e-9 < rule_.strikes) return false;
    s.previous = s.current = 0;
    s.banned_until_ms = now_ms + rule_.bantime_ms;
  }
  // Enforced here at once with the base ban time; Redis's answer (maybe longer) follows
  // through the change stream.
  if (blacklist_ && blacklist_->attached()) {
    BlacklistTable::WriteBatch batch(*blacklist_, pid_);
    if (!batch.Upsert(scope, now_ms + rule_.bantime_ms, EntrySource::kAutoban) && log_) {
      // Counted in warden_blacklist_dropped_total too; Redis still gets the ban.
      log_(LogLevel::kError, "autoban of " + scope.ToString() +
                                 " not enforced on this node: warden_blacklist_zone is full");
    }
  }
  if (queued_.size() < kMaxQueued) {
    queued_.push_back(scope.ToString());
  } else if (++dropped_ % 100 == 1 && log_) {
    log_(LogLevel::kError, "autoban of " + scope.ToString() +
                               " not sent to redis: " + std::to_string(kMaxQueued) +
                               " bans wait for it already (" + std::to_string(dropped_) +
                               " dropped so far); the ban holds on this node only");
  }
  ++bans_;
  return true;
}

void Autoban::Flush(AsyncRedis* redis, const RedisSchema& schema) {
  if (!redis || in_flight_ || queued_.empty() || !redis->connected()) return;
  std::string entry = queued_.front();
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
                                   schema.prefix() + "ab:n:" + rule_.zone + ":" + entry,
                                   std::to_string(RedisSchema::kLogMaxLen),
                                   epoch,
                                   entry,
                                   Millis(rule_.bantime_ms),
                                   std::to_string(rule_.factor),
                                   Millis(rule_.maxtime_ms),
                                   std::to_string(rule_.strikes),
                                   std::to_string(rule_.findtime_ms / 1000),
                                   rule_.zone,
                                   node_name_};
  in_flight_ = true;
  bool sent = redis->Send(args, redis->endpoint().timeout_ms, [this, redis](redisReply* r) {
    in_flight_ = false;
    if (!r) return;  // kept queued: sent again once Redis answers
    if (r->type == REDIS_REPLY_ERROR) {
      redis->Log(LogLevel::kError,
                 "autoban of " + queued_.front() + " failed: " + std::string(r->str, r->len));
    }
    queued_.pop_front();
  });
  if (!sent) in_flight_ = false;
}

}  // namespace warden
