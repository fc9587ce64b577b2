#include "common/redis_schema.h"

#include <array>

#include "common/cluster_slots.h"
#include "common/redis_deployment.h"

namespace warden {

RedisSchema RedisSchema::For(const RedisDeployment& deployment, std::string prefix) {
  return RedisSchema(std::move(prefix), deployment.kind == RedisDeployment::Kind::kCluster
                                            ? Layout::kCluster
                                            : Layout::kSingle);
}

bool RedisSchema::CheckPrefix(std::string_view prefix, Layout layout, std::string* why) {
  if (layout == Layout::kCluster && prefix.find_first_of("{}") != std::string_view::npos) {
    *why =
        "a key prefix with '{' or '}' does not go with Redis Cluster: Warden places the hash "
        "tags itself (docs/redis-keys.md)";
    return false;
  }
  return true;
}

std::string RedisSchema::Group(std::string_view name) const {
  return cluster() ? prefix_ + "{" + std::string(name) + "}" : prefix_ + std::string(name);
}

std::string RedisSchema::BanCounter(std::string_view history) const {
  // next to the blacklist's keys in a cluster: the autoban script writes both
  return cluster() ? Group("bl") + ":" + std::string(history) : prefix_ + std::string(history);
}

std::string RedisSchema::AutobanHistory(std::string_view zone, std::string_view scope) {
  return "ab:n:" + std::string(zone) + ":" + std::string(scope);
}

std::string RedisSchema::BehaviourHistory(std::string_view rule, std::string_view scope) {
  return "bh:n:" + std::string(rule) + ":" + std::string(scope);
}

const std::string& RedisSchema::LimitBucketTag(int group) {
  // Found once, the same in every process: the key schema depends on them.
  static const std::array<std::string, kLimitBucketGroups> kTags = [] {
    std::array<std::string, kLimitBucketGroups> tags;
    for (int g = 0; g < kLimitBucketGroups; ++g) {
      for (int n = 0;; ++n) {
        std::string tag = "b" + std::to_string(g) + "." + std::to_string(n);
        if (ClusterKeySlot(tag) * kLimitBucketGroups / ClusterSlotMap::kSlots == g) {
          tags[g] = std::move(tag);
          break;
        }
      }
    }
    return tags;
  }();
  return kTags.at(group);
}

std::string RedisSchema::LimitBucket(std::string_view zone, std::string_view key) const {
  static const char kHex[] = "0123456789abcdef";
  std::string tail = std::string(zone) + ":";
  tail.reserve(tail.size() + 2 * key.size());
  for (unsigned char c : key) {
    tail += kHex[c >> 4];
    tail += kHex[c & 15];
  }
  if (!cluster()) return prefix_ + "rl:" + tail;
  const int group = Crc16Xmodem(tail) % kLimitBucketGroups;
  return prefix_ + "rl:{" + LimitBucketTag(group) + "}:" + tail;
}

std::string RedisSchema::TrafficKey(std::string_view family, int64_t minute) const {
  const std::string m = std::to_string(minute);
  return prefix_ + "top:" + std::string(family) + ":" + (cluster() ? "{" + m + "}" : m);
}

std::vector<std::string> RedisSchema::TrafficKeys(int64_t minute) const {
  std::vector<std::string> keys;
  keys.reserve(kTrafficFamilies.size());
  for (const char* family : kTrafficFamilies) keys.push_back(TrafficKey(family, minute));
  return keys;
}

std::string RedisSchema::JobKey(std::string_view job, std::string_view what) const {
  const std::string name(job);
  return prefix_ + "job:" + (cluster() ? "{" + name + "}" : name) + ":" + std::string(what);
}

std::string RedisSchema::CacheLock(std::string_view key) const {
  if (!cluster() || ClusterHashTag(key)) return std::string(key) + ":lock";
  return "{" + std::string(key) + "}:lock";
}

bool RedisSchema::CheckCacheKey(std::string_view key, Layout layout, std::string* why) {
  if (layout == Layout::kCluster && !ClusterHashTag(key) &&
      key.find('}') != std::string_view::npos) {
    *why = "cache key \"" + std::string(key) +
           "\" holds a '}' but no hash tag, so its lock cannot share its Redis Cluster slot; give "
           "it a hash tag ({...})";
    return false;
  }
  return true;
}

const char* const RedisSchema::kApplyChangesScript = R"lua(
redis.call('SET', KEYS[5], ARGV[2], 'NX')
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local changed = 0
for i = 3, #ARGV, 4 do
  local op, entry, expires, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local apply = true
  if op == 'add' and string.match(value, '^v1\t[^\t]*\t[^\t]*\tfeed\t') then
    -- a feed does not ban over the fleet's allow list (a v2 value); a person may
    local old = redis.call('HGET', KEYS[1], entry)
    apply = not (old and string.sub(old, 1, 3) == 'v2\t')
  end
  if not apply then
  elseif op == 'add' then
    redis.call('HSET', KEYS[1], entry, value)
    if expires ~= '0' then
      redis.call('ZADD', KEYS[2], expires, entry)
    else
      redis.call('ZREM', KEYS[2], entry)
    end
  else
    apply = redis.call('HDEL', KEYS[1], entry) == 1
    if apply then redis.call('ZREM', KEYS[2], entry) end
    value = ''
  end
  if apply then
    seq = redis.call('INCR', KEYS[3])
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*',
               'seq', seq, 'op', op, 'entry', entry, 'value', value)
    changed = changed + 1
  end
end
return {seq, changed}
)lua";

const char* const RedisSchema::kPurgeExpiredScript = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local seq
for _, entry in ipairs(due) do
  redis.call('ZREM', KEYS[2], entry)
  if redis.call('HDEL', KEYS[1], entry) == 1 then
    seq = redis.call('INCR', KEYS[3])
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*',
               'seq', seq, 'op', 'del', 'entry', entry, 'value', '')
  end
end
return #due
)lua";

const char* const RedisSchema::kAutobanScript = R"lua(
-- an entry on the fleet's allow list (a v2 value) is not banned over, nor counted
local old = redis.call('HGET', KEYS[1], ARGV[3])
if old and string.sub(old, 1, 3) == 'v2\t' then return {0, 0} end
redis.call('SET', KEYS[5], ARGV[2], 'NX')
local base, factor, max = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local n = redis.call('INCR', KEYS[6])
local memory = math.max(86400000, 2 * max)
redis.call('PEXPIRE', KEYS[6], memory)
local ban = math.floor(base * factor ^ (n - 1))
if ban > max or ban <= 0 then ban = max end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + ban
local entry = ARGV[3]
local value = 'v1\t' .. expires .. '\t' .. now .. '\t' .. (ARGV[10] or 'autoban') ..
  '\tnginx:' .. ARGV[9] ..
  '\t' .. ARGV[7] .. n .. ARGV[8]
redis.call('HSET', KEYS[1], entry, value)
redis.call('ZADD', KEYS[2], expires, entry)
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*',
           'seq', seq, 'op', 'add', 'entry', entry, 'value', value)
return {n, ban}
)lua";

// The module's traffic script and the sidecar's reports merge distinct-path sketches alike.
// (Plain literals: a raw string cannot span lines in a macro.)
#define WARDEN_MERGE_SKETCHES_LUA                                                               \
  "\n"                                                                                          \
  "-- two sketches of distinct paths (32 hex digits each) OR-ed; b alone if a is not one\n"     \
  "local function merge_bits(a, b)\n"                                                           \
  "  if not a or #a ~= #b or not string.match(a, '^%x+$') then return b end\n"                  \
  "  local out = {}\n"                                                                          \
  "  for j = 1, #b, 8 do\n"                                                                     \
  "    local x = bit.bor(tonumber(string.sub(a, j, j + 7), 16), tonumber(string.sub(b, j, j + " \
  "7), 16))\n"                                                                                  \
  "    out[#out + 1] = bit.tohex(x, 8)\n"                                                       \
  "  end\n"                                                                                     \
  "  return table.concat(out)\n"                                                                \
  "end\n"

const char* const RedisSchema::kMergeSketchesLua = WARDEN_MERGE_SKETCHES_LUA;

const char* const RedisSchema::kTrafficScript = WARDEN_MERGE_SKETCHES_LUA R"lua(
local minute = ARGV[1]
-- KEYS in RedisSchema::kTrafficFamilies's order
local families = {'req', 'ref', 'cc', 's2xx', 's3xx', 's4xx', 's5xx', 'bytes', 'up', 'cty',
                  'sum', 'path', 'p5xx', 'pup', 'dpath', 'apath', 'tpath', 'aua', 'tua',
                  'strikes'}
local keys = {}
for i, family in ipairs(families) do keys[family] = KEYS[i] end
local function key(family) return keys[family] end
-- the group's values after the address (i + 1: requests, i + 3: country) and their families
local counted = {[2] = 'ref', [4] = 's2xx', [5] = 's3xx', [6] = 's4xx', [7] = 's5xx',
                 [8] = 'bytes', [9] = 'up'}
local sum, cty = key('sum'), key('cty')
local totals = {}
local function add(field, n)
  if n ~= 0 then totals[field] = (totals[field] or 0) + n end
end
-- counts `n` more of `text` for `addr` in counts (sorted set "<addr>\t<text>") and keeps in
-- best (hash addr -> "<count>\t<text>") the text counted most this minute
local function most(counts, best, addr, text, n)
  if text == '' or n <= 0 then return end
  local total = tonumber(redis.call('ZINCRBY', counts, n, addr .. '\t' .. text))
  local current = redis.call('HGET', best, addr)
  local top = current and tonumber(string.match(current, '^(%d+)\t')) or 0
  if total >= top then redis.call('HSET', best, addr, math.floor(total) .. '\t' .. text) end
end
for name, n in string.gmatch(ARGV[3], '([%a_]+)=(%d+)') do add('d:' .. name, tonumber(n)) end
local first_path = 5 + 16 * tonumber(ARGV[4])
for i = 5, first_path - 16, 16 do
  local addr, cc = ARGV[i], ARGV[i + 3]
  local req = tonumber(ARGV[i + 1]) or 0
  redis.call('ZINCRBY', key('req'), req, addr)
  add('requests', req)
  if cc ~= '' then redis.call('HSET', key('cc'), addr, cc) end
  redis.call('ZINCRBY', cty, req, cc ~= '' and cc or '-')
  for k, family in pairs(counted) do
    local n = tonumber(ARGV[i + k]) or 0
    if n ~= 0 then
      redis.call('ZINCRBY', key(family), n, addr)
      add(family == 'ref' and 'refused' or family, n)
    end
  end
  local bits = ARGV[i + 10]
  if string.match(bits, '^%x+$') then
    redis.call('HSET', key('dpath'), addr, merge_bits(redis.call('HGET', key('dpath'), addr), bits))
  end
  most(key('apath'), key('tpath'), addr, ARGV[i + 11], tonumber(ARGV[i + 12]) or 0)
  most(key('aua'), key('tua'), addr, ARGV[i + 13], tonumber(ARGV[i + 14]) or 0)
  local strikes = tonumber(ARGV[i + 15]) or 0
  if strikes > 0 and strikes > (tonumber(redis.call('ZSCORE', key('strikes'), addr)) or 0) then
    redis.call('ZADD', key('strikes'), strikes, addr)
  end
end
for i = first_path, #ARGV - 3, 4 do
  local path = ARGV[i]
  redis.call('ZINCRBY', key('path'), ARGV[i + 1], path)
  if ARGV[i + 2] ~= '0' then redis.call('ZINCRBY', key('p5xx'), ARGV[i + 2], path) end
  if ARGV[i + 3] ~= '0' then redis.call('ZINCRBY', key('pup'), ARGV[i + 3], path) end
end
for field, n in pairs(totals) do redis.call('HINCRBY', sum, field, n) end
for _, family in ipairs(families) do redis.call('PEXPIRE', key(family), ARGV[2]) end
return tonumber(minute)
)lua";

const char* const RedisSchema::kLimitExactScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local count = tonumber(ARGV[3 * i])
  local v = redis.call('GET', key)
  local e, last = 0, now
  if v then
    local sep = string.find(v, ':', 1, true)
    local prev = tonumber(string.sub(v, 1, sep - 1))
    last = tonumber(string.sub(v, sep + 1))
    local ms = now - last
    if ms < -60000 then ms = 1 elseif ms < 0 then ms = 0 end
    e = prev - rate * ms / 1000 + 1000
    if e < 0 then e = 0 end
    if ms > 0 then last = now end
  end
  e = math.floor(e)
  if e <= burst then
    -- the later requests of this key came at the same instant: each accepted adds one
    local accepted = math.min(count, math.floor((burst - e) / 1000) + 1)
    local level = e + (accepted - 1) * 1000
    redis.call('SET', key, level .. ':' .. last, 'PX', math.floor(level * 1000 / rate) + 1000)
  end
  out[i] = e
end
return out
)lua";

const char* const RedisSchema::kLimitSyncScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local levels = {}
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[i + 2])
  local v = redis.call('GET', key)
  local e
  if v then
    -- the n requests arrived over the time since the last push: add them, leak that time
    local sep = string.find(v, ':', 1, true)
    local ms = now - tonumber(string.sub(v, sep + 1))
    if ms < 0 then ms = 0 end
    e = tonumber(string.sub(v, 1, sep - 1)) + n * 1000 - rate * ms / 1000
  else
    -- a new key: its requests came within the last interval, the first one free
    e = (n - 1) * 1000 - rate * interval / 1000
  end
  if e < 0 then e = 0 end
  e = math.floor(e)
  redis.call('SET', key, e .. ':' .. now, 'PX', math.floor(e * 1000 / rate) + 1000)
  levels[i] = e
end
return levels
)lua";

const char* const RedisSchema::kSyncHelloScript = R"lua(
redis.call('SET', KEYS[1], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local last = '0-0'
local tail = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #tail > 0 then last = tail[1][1] end
local present = 0
if ARGV[1] ~= '' and ARGV[1] ~= '0-0' then
  if #redis.call('XRANGE', KEYS[3], ARGV[1], ARGV[1]) > 0 then present = 1 end
end
return {epoch, seq, last, present}
)lua";

const char* const RedisSchema::kNodeHeartbeatScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
return now
)lua";

}  // namespace warden
