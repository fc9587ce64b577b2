#include "core/behaviour.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cmath>
#include <new>

namespace warden {

namespace {

constexpr uint64_t kCountersMagic = 0x5744424831000001ULL;  // "WDBH1" and a version

Behaviour::Counters* CountersIn(void* region, size_t bytes) {
  if (!region || bytes <= Behaviour::kCountersBytes) return nullptr;
  auto* c = static_cast<Behaviour::Counters*>(region);
  if (c->magic != kCountersMagic) {
    new (c) Behaviour::Counters{};
    c->magic = kCountersMagic;
  }
  return c;
}

// A reason may hold anything but a newline; a tab would read as a field of the entry. What a
// client put in its path is shown, not interpreted.
std::string Printable(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (text.size() > max) out += "...";
  return out;
}

std::string Duration(int64_t ms) {
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

const char* BehaviourDecisionName(BehaviourDecision decision) {
  switch (decision) {
    case BehaviourDecision::kBan:
      return "ban";
    case BehaviourDecision::kChallenge:
      return "challenge";
    case BehaviourDecision::kLog:
      return "log";
  }
  return "ban";
}

size_t Behaviour::Format(void* region, size_t bytes) {
  if (!CountersIn(region, bytes)) return 0;
  ShmMap map;
  if (!map.Attach(static_cast<char*>(region) + kCountersBytes, bytes - kCountersBytes)) return 0;
  return map.ReadStats().slots;
}

Behaviour::Behaviour(BehaviourRule rule, void* region, size_t bytes, BlacklistTable* blacklist,
                     std::string node_name, int32_t pid, LogFn log)
    : rule_(std::move(rule)),
      blacklist_(blacklist),
      pid_(pid),
      queue_(blacklist, std::move(node_name), pid, std::move(log), "behaviour " + rule_.name) {
  if (rule_.capacity == 0) rule_.capacity = 1;
  if (rule_.distinct_path) rule_.capacity = std::min(rule_.capacity, kMaxDistinctCapacity);
  if (rule_.leak_ms <= 0) rule_.leak_ms = 1;
  counters_ = CountersIn(region, bytes);
  if (counters_ &&
      !map_.Attach(static_cast<char*>(region) + kCountersBytes, bytes - kCountersBytes)) {
    counters_ = nullptr;
  }
}

uint64_t Behaviour::PathHash(std::string_view path) {
  // FNV-1a, then a finalizer so the low six bits (the bit in the set) depend on every byte.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : path) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

namespace {

std::string BucketKey(const Cidr& scope) {
  std::string key(reinterpret_cast<const char*>(scope.network().bytes().data()), 16);
  key.push_back(static_cast<char>(scope.prefix_len()));
  return key;
}

float Drained(const Behaviour::Bucket& b, int64_t leak_ms, int64_t now_ms) {
  int64_t elapsed = now_ms - b.updated_ms;
  if (elapsed <= 0) return b.level;  // a clock that went back leaks nothing
  double level = b.level - static_cast<double>(elapsed) / static_cast<double>(leak_ms);
  return level > 0 ? static_cast<float>(level) : 0.0f;
}

}  // namespace

double Behaviour::Level(const IpAddress& addr, int64_t now_ms) {
  if (!map_.attached()) return 0;
  const std::string key = BucketKey(Scope(addr));
  ShmMap::Lock lock(map_, pid_);
  ShmMap::Slot* slot = map_.Find(key);
  return slot ? Drained(ShmMap::Value<Bucket>(slot), rule_.leak_ms, now_ms) : 0;
}

Behaviour::Result Behaviour::Event(const IpAddress& addr, std::string_view path, int status,
                                   int64_t now_ms) {
  Result result;
  result.scope = Scope(addr);
  if (!map_.attached()) return result;
  counters_->events.fetch_add(1, std::memory_order_relaxed);
  const std::string key = BucketKey(result.scope);
  uint32_t events = 0;
  float level = 0;
  {
    ShmMap::Lock lock(map_, pid_);
    bool fresh = false;
    ShmMap::Slot* slot = map_.FindOrInsert(key, now_ms, &fresh);
    if (!slot) return result;
    Bucket& b = ShmMap::Value<Bucket>(slot);
    if (fresh) b = Bucket{now_ms, 0.0f, 0, 0};
    b.level = Drained(b, rule_.leak_ms, now_ms);
    if (now_ms > b.updated_ms) b.updated_ms = now_ms;
    if (b.level <= 0) {
      // Empty: what was counted before is forgotten, the set of paths with it.
      b.events = 0;
      b.paths = 0;
    }
    if (rule_.distinct_path) {
      uint64_t bit = uint64_t{1} << (PathHash(path) & 63);
      if (b.paths & bit) result.outcome = Outcome::kRepeat;
      b.paths |= bit;
    }
    if (result.outcome != Outcome::kRepeat) {
      b.level += 1.0f;
      b.events++;
      if (b.level <= static_cast<float>(rule_.capacity) + 1e-3f) {
        result.outcome = Outcome::kCounted;
      } else {
        // Overflowed: the decision applies, and the bucket starts afresh, so a dry run logs
        // once per overflow.
        result.outcome = Outcome::kOverflow;
        events = b.events;
        b = Bucket{now_ms, 0.0f, 0, 0};
      }
    }
    level = b.level;
  }
  NoteLevel(key, result.scope, level);
  if (result.outcome == Outcome::kRepeat) return result;
  Remember(key, status, path);
  if (result.outcome != Outcome::kOverflow) return result;

  std::string detail = std::to_string(events) + " events over capacity " +
                       std::to_string(rule_.capacity) + " (one leaks every " +
                       Duration(rule_.leak_ms) + ")" + Evidence(key);
  evidence_.erase(key);
  result.reason = "behaviour " + rule_.name + ": " + detail;
  if (rule_.decision == BehaviourDecision::kLog) {
    counters_->decisions.fetch_add(1, std::memory_order_relaxed);
    return result;
  }
  if (auto listed =
          blacklist_ && blacklist_->attached() ? blacklist_->Lookup(addr, now_ms) : std::nullopt;
      listed && (listed->source != EntrySource::kChallenge ||
                 rule_.decision == BehaviourDecision::kChallenge)) {
    // Banned (or challenged) already: a location that counts without `warden on` still sees
    // the client, and a challenged client that solved the page is let through; no second
    // decision, which would escalate. (A ban rule still bans a client that is only listed for
    // a challenge: its entry replaces the challenge.) On the fleet's allow list: exempt.
    result.outcome = Outcome::kAlreadyBanned;
    return result;
  }
  counters_->decisions.fetch_add(1, std::memory_order_relaxed);
  Decide(result.scope, detail, now_ms);
  if (auto subnet = CountInSubnet(addr, now_ms)) {
    result.subnet = subnet->ToString();
    Decide(*subnet,
           std::to_string(rule_.ipv4_subnet) + " addresses of " + result.subnet + " in " +
               Duration(rule_.bantime_ms) + ", the last: " + detail,
           now_ms);
  }
  return result;
}

void Behaviour::Decide(const Cidr& scope, const std::string& detail, int64_t now_ms) {
  const bool challenge = rule_.decision == BehaviourDecision::kChallenge;
  BanRequest ban = rule_.Request(scope);
  ban.history = RedisSchema::BehaviourHistory(rule_.name, scope.ToString());
  ban.reason_head = "behaviour " + rule_.name + (challenge ? ", challenge #" : ", ban #");
  ban.reason_tail = ": " + detail;
  ban.source = challenge ? EntrySource::kChallenge : EntrySource::kAutoban;
  queue_.Ban(std::move(ban), now_ms);
}

std::optional<Cidr> Behaviour::CountInSubnet(const IpAddress& addr, int64_t now_ms) {
  if (rule_.ipv4_subnet == 0 || !addr.IsV4()) return std::nullopt;
  const Cidr subnet(addr, 96 + 24);
  // A key of its own kind (a bucket's is 17 bytes): the decisions in the /24 so far, counted
  // from the first within bantime.
  std::string key = BucketKey(subnet) + "s";
  ShmMap::Lock lock(map_, pid_);
  bool fresh = false;
  ShmMap::Slot* slot = map_.FindOrInsert(key, now_ms, &fresh);
  if (!slot) return std::nullopt;
  Bucket& b = ShmMap::Value<Bucket>(slot);
  if (fresh || now_ms - b.updated_ms >= rule_.bantime_ms || now_ms < b.updated_ms) {
    b = Bucket{now_ms, 0.0f, 0, 0};
  }
  if (++b.events < rule_.ipv4_subnet) return std::nullopt;
  b = Bucket{now_ms, 0.0f, 0, 0};
  return subnet;
}

void Behaviour::NoteLevel(const std::string& key, const Cidr& scope, float level) {
  if (level * 2 < static_cast<float>(rule_.capacity) || level < 1) {
    hot_.erase(key);  // (an overflow empties the bucket)
    return;
  }
  if (hot_.size() >= kMaxHot && !hot_.count(key)) {
    // Full: the emptiest makes room, unless this one is emptier still.
    auto low = std::min_element(hot_.begin(), hot_.end(), [](const auto& a, const auto& b) {
      return a.second.level < b.second.level;
    });
    if (low->second.level >= level) return;
    hot_.erase(low);
  }
  hot_[key] = HotBucket{scope.ToString(), level};
}

std::vector<Behaviour::Hot> Behaviour::HotBuckets(int64_t now_ms,
                                                  std::vector<std::string>* drained) {
  std::vector<Hot> out;
  if (hot_.empty() || !map_.attached()) return out;
  ShmMap::Lock lock(map_, pid_);
  for (auto it = hot_.begin(); it != hot_.end();) {
    ShmMap::Slot* slot = map_.Find(it->first);
    float level = slot ? Drained(ShmMap::Value<Bucket>(slot), rule_.leak_ms, now_ms) : 0.0f;
    double fill = level / static_cast<double>(rule_.capacity);
    if (fill < 0.05) {
      if (drained) drained->push_back(it->second.scope);
      it = hot_.erase(it);
      continue;
    }
    it->second.level = level;
    out.push_back(Hot{it->second.scope, fill});
    ++it;
  }
  return out;
}

void Behaviour::PushHot(AsyncClient* redis, const RedisSchema& schema, const std::string& node,
                        int64_t now_ms) {
  if (!redis || !redis->connected() || (hot_.empty() && gone_.empty())) return;
  std::vector<Hot> hot = HotBuckets(now_ms, &gone_);
  const std::string key = schema.BehaviourHot(rule_.name);
  if (!hot.empty()) {
    std::vector<std::string> args = {"ZADD", key};
    for (const Hot& h : hot) {
      args.push_back(std::to_string(h.fill));
      args.push_back(h.scope + "|" + node);
    }
    redis->Send(args, redis->endpoint().timeout_ms, [](redisReply*) {});
    redis->Send({"PEXPIRE", key, "60000"}, redis->endpoint().timeout_ms, [](redisReply*) {});
  }
  if (!gone_.empty()) {
    std::vector<std::string> args = {"ZREM", key};
    for (const std::string& scope : gone_) args.push_back(scope + "|" + node);
    if (redis->Send(args, redis->endpoint().timeout_ms, [](redisReply*) {})) gone_.clear();
  }
}

void Behaviour::Remember(const std::string& key, int status, std::string_view path) {
  auto it = evidence_.find(key);
  if (it == evidence_.end()) {
    // Bounded: a worker forgets every client's evidence at once rather than grow.
    if (evidence_.size() >= kEvidenceClients) evidence_.clear();
    it = evidence_.emplace(key, std::deque<Seen>()).first;
  }
  it->second.push_back(Seen{status, Printable(path, kEvidencePathBytes)});
  if (it->second.size() > kEvidence) it->second.pop_front();
}

std::string Behaviour::Evidence(const std::string& key) const {
  auto it = evidence_.find(key);
  if (it == evidence_.end() || it->second.empty()) return "";
  // Newest first: the event that overflowed the bucket leads.
  std::string out = ":";
  for (auto seen = it->second.rbegin(); seen != it->second.rend(); ++seen) {
    if (seen != it->second.rbegin()) out += ",";
    out += " " + std::to_string(seen->status) + " " + seen->path;
  }
  return out;
}

}  // namespace warden
