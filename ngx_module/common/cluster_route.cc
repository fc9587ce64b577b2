#include "common/cluster_route.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "common/cluster_slots.h"

namespace warden {

namespace {

// Which arguments are keys: [first, last] (last < 0: counted from the end, -1 the last
// argument) every `step`. After Redis's key specs for these commands.
struct KeySpec {
  std::string_view name;
  int first;
  int last;
  int step;
};

constexpr std::array kKeySpecs = {
    // one key, the first argument
    KeySpec{"APPEND", 1, 1, 1},
    KeySpec{"DECR", 1, 1, 1},
    KeySpec{"DECRBY", 1, 1, 1},
    KeySpec{"EXPIRE", 1, 1, 1},
    KeySpec{"EXPIREAT", 1, 1, 1},
    KeySpec{"GET", 1, 1, 1},
    KeySpec{"GETDEL", 1, 1, 1},
    KeySpec{"GETEX", 1, 1, 1},
    KeySpec{"GETSET", 1, 1, 1},
    KeySpec{"HDEL", 1, 1, 1},
    KeySpec{"HEXISTS", 1, 1, 1},
    KeySpec{"HGET", 1, 1, 1},
    KeySpec{"HGETALL", 1, 1, 1},
    KeySpec{"HINCRBY", 1, 1, 1},
    KeySpec{"HKEYS", 1, 1, 1},
    KeySpec{"HLEN", 1, 1, 1},
    KeySpec{"HMGET", 1, 1, 1},
    KeySpec{"HMSET", 1, 1, 1},
    KeySpec{"HSCAN", 1, 1, 1},
    KeySpec{"HSET", 1, 1, 1},
    KeySpec{"HSETNX", 1, 1, 1},
    KeySpec{"HVALS", 1, 1, 1},
    KeySpec{"INCR", 1, 1, 1},
    KeySpec{"INCRBY", 1, 1, 1},
    KeySpec{"LLEN", 1, 1, 1},
    KeySpec{"LPUSH", 1, 1, 1},
    KeySpec{"LRANGE", 1, 1, 1},
    KeySpec{"PERSIST", 1, 1, 1},
    KeySpec{"PEXPIRE", 1, 1, 1},
    KeySpec{"PEXPIREAT", 1, 1, 1},
    KeySpec{"PSETEX", 1, 1, 1},
    KeySpec{"PTTL", 1, 1, 1},
    KeySpec{"RPUSH", 1, 1, 1},
    KeySpec{"SADD", 1, 1, 1},
    KeySpec{"SCARD", 1, 1, 1},
    KeySpec{"SET", 1, 1, 1},
    KeySpec{"SETEX", 1, 1, 1},
    KeySpec{"SETNX", 1, 1, 1},
    KeySpec{"SISMEMBER", 1, 1, 1},
    KeySpec{"SMEMBERS", 1, 1, 1},
    KeySpec{"SREM", 1, 1, 1},
    KeySpec{"SSCAN", 1, 1, 1},
    KeySpec{"STRLEN", 1, 1, 1},
    KeySpec{"TTL", 1, 1, 1},
    KeySpec{"TYPE", 1, 1, 1},
    KeySpec{"XADD", 1, 1, 1},
    KeySpec{"XLEN", 1, 1, 1},
    KeySpec{"XRANGE", 1, 1, 1},
    KeySpec{"XREVRANGE", 1, 1, 1},
    KeySpec{"XTRIM", 1, 1, 1},
    KeySpec{"ZADD", 1, 1, 1},
    KeySpec{"ZCARD", 1, 1, 1},
    KeySpec{"ZCOUNT", 1, 1, 1},
    KeySpec{"ZINCRBY", 1, 1, 1},
    KeySpec{"ZMSCORE", 1, 1, 1},
    KeySpec{"ZRANGE", 1, 1, 1},
    KeySpec{"ZRANGEBYSCORE", 1, 1, 1},
    KeySpec{"ZRANK", 1, 1, 1},
    KeySpec{"ZREM", 1, 1, 1},
    KeySpec{"ZREMRANGEBYRANK", 1, 1, 1},
    KeySpec{"ZREMRANGEBYSCORE", 1, 1, 1},
    KeySpec{"ZREVRANGE", 1, 1, 1},
    KeySpec{"ZREVRANGEBYSCORE", 1, 1, 1},
    KeySpec{"ZSCAN", 1, 1, 1},
    KeySpec{"ZSCORE", 1, 1, 1},
    // every argument a key
    KeySpec{"DEL", 1, -1, 1},
    KeySpec{"EXISTS", 1, -1, 1},
    KeySpec{"MGET", 1, -1, 1},
    KeySpec{"TOUCH", 1, -1, 1},
    KeySpec{"UNLINK", 1, -1, 1},
    // key value key value ...
    KeySpec{"MSET", 1, -1, 2},
    // two keys
    KeySpec{"COPY", 1, 2, 1},
    KeySpec{"RENAME", 1, 2, 1},
    KeySpec{"RENAMENX", 1, 2, 1},
    KeySpec{"SMOVE", 1, 2, 1},
};

// The count of keys at argv[at], the keys right after it.
constexpr std::array<std::string_view, 6> kNumkeysAt2 = {"EVAL",       "EVALSHA", "EVAL_RO",
                                                         "EVALSHA_RO", "FCALL",   "FCALL_RO"};
// A destination key, then the count and the keys.
constexpr std::array<std::string_view, 3> kStoreNumkeysAt2 = {"ZUNIONSTORE", "ZINTERSTORE",
                                                              "ZDIFFSTORE"};
constexpr std::array<std::string_view, 14> kNoKey = {
    "PING",     "ECHO",  "TIME",   "INFO",    "ROLE",   "WAIT",    "DBSIZE",
    "LASTSAVE", "HELLO", "CLIENT", "CLUSTER", "CONFIG", "COMMAND", "READONLY"};

// Redis reads command names in any case.
std::string UpperCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

template <size_t N>
bool In(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

ClusterRoute Refuse(std::string why) {
  ClusterRoute route;
  route.kind = ClusterRoute::Kind::kRefused;
  route.why = std::move(why);
  return route;
}

ClusterRoute Of(const std::string& name, const std::vector<std::string_view>& keys) {
  ClusterRoute route;
  if (keys.empty()) {
    route.kind = ClusterRoute::Kind::kAnyNode;
    return route;
  }
  route.kind = ClusterRoute::Kind::kSlot;
  route.slot = ClusterKeySlot(keys.front());
  for (std::string_view key : keys) {
    if (ClusterKeySlot(key) != route.slot) {
      return Refuse(name + " with keys in different Redis Cluster slots (\"" +
                    std::string(keys.front()) + "\" and \"" + std::string(key) +
                    "\"; CROSSSLOT): give them one hash tag");
    }
  }
  return route;
}

}  // namespace

ClusterRoute ClusterRoute::For(const std::vector<std::string>& argv) {
  return For(std::vector<std::string_view>(argv.begin(), argv.end()));
}

ClusterRoute ClusterRoute::For(const std::vector<std::string_view>& argv) {
  if (argv.empty()) return Refuse("an empty command");
  const std::string name = UpperCase(argv[0]);
  const int argc = static_cast<int>(argv.size());
  std::vector<std::string_view> keys;

  auto numkeys = [&](int at, std::vector<std::string_view>* out) {
    int n = -1;
    if (at < argc) {
      std::string_view text = argv[static_cast<size_t>(at)];
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size()) n = -1;
    }
    if (n < 0 || at + n >= argc) return false;  // the keys are argv[at + 1 .. at + n]
    for (int i = at + 1; i <= at + n; ++i) out->push_back(argv[static_cast<size_t>(i)]);
    return true;
  };

  if (In(kNumkeysAt2, name)) {
    if (!numkeys(2, &keys)) return Refuse(name + " without a valid number of keys");
    return Of(name, keys);
  }
  if (In(kStoreNumkeysAt2, name)) {
    if (argc < 2 || !numkeys(2, &keys)) return Refuse(name + " without a valid number of keys");
    keys.insert(keys.begin(), argv[1]);
    return Of(name, keys);
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    // ... STREAMS key1 key2 ... id1 id2 ...: the first half after STREAMS are keys.
    for (int i = 1; i < argc; ++i) {
      if (UpperCase(argv[static_cast<size_t>(i)]) != "STREAMS") continue;
      const int rest = argc - i - 1;
      if (rest == 0 || rest % 2 != 0) break;
      for (int k = i + 1; k <= i + rest / 2; ++k) keys.push_back(argv[static_cast<size_t>(k)]);
      return Of(name, keys);
    }
    return Refuse(name + " without STREAMS and as many ids as keys");
  }
  if (name == "SCRIPT") {
    ClusterRoute route;
    route.kind = Kind::kEveryPrimary;
    return route;
  }
  if (In(kNoKey, name)) return Of(name, keys);
  if (name == "SCAN" || name == "KEYS") {
    return Refuse(name +
                  " walks one node of a Redis Cluster: scan each primary (the sidecar's ScanKeys)");
  }
  for (const KeySpec& spec : kKeySpecs) {
    if (spec.name != name) continue;
    const int last = spec.last < 0 ? argc + spec.last : spec.last;
    if (spec.first >= argc || last >= argc || last < spec.first) {
      return Refuse(name + " without its key");
    }
    for (int i = spec.first; i <= last; i += spec.step)
      keys.push_back(argv[static_cast<size_t>(i)]);
    return Of(name, keys);
  }
  return Refuse("Warden does not route " + name + " in a Redis Cluster");
}

}  // namespace warden
