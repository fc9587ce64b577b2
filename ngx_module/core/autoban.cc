#include "core/autoban.h"

namespace warden {

Autoban::Autoban(AutobanRule rule, ShmMap* strikes, BlacklistTable* blacklist,
                 std::string node_name, int32_t pid, LogFn log)
    : rule_(std::move(rule)),
      strikes_(strikes),
      blacklist_(blacklist),
      pid_(pid),
      queue_(blacklist, std::move(node_name), pid, std::move(log), "autoban") {
  if (rule_.strikes == 0) rule_.strikes = 1;
}

Cidr Autoban::Scope(const IpAddress& addr) const { return rule_.Scope(addr); }

bool Autoban::Strike(const IpAddress& addr, int64_t now_ms, uint32_t* strikes) {
  if (strikes) *strikes = 0;
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
    if (estimate + 1e-9 < rule_.strikes) {
      if (strikes) *strikes = static_cast<uint32_t>(estimate + 1e-9);
      return false;
    }
    if (strikes) *strikes = rule_.strikes;
    s.previous = s.current = 0;
    s.banned_until_ms = now_ms + rule_.bantime_ms;
  }
  BanRequest ban = rule_.Request(scope);
  ban.history = RedisSchema::AutobanHistory(rule_.zone, scope.ToString());
  ban.reason_head = "autoban: zone " + rule_.zone + ", " + std::to_string(rule_.strikes) +
                    " strikes in " + std::to_string(rule_.findtime_ms / 1000) + "s, ban #";
  queue_.Ban(std::move(ban), now_ms);
  ++bans_;
  return true;
}

void Autoban::Flush(AsyncClient* redis, const RedisSchema& schema) { queue_.Flush(redis, schema); }

}  // namespace warden
