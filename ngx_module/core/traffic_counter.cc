#include "core/traffic_counter.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include "core/shm_layout.h"

namespace warden {

void TrafficCounter::Count(const IpAddress& addr, const Sample& sample, int64_t now_ms) {
  uint64_t hi, lo;
  std::memcpy(&hi, addr.bytes().data(), 8);
  std::memcpy(&lo, addr.bytes().data() + 8, 8);
  Pending& p = pending_[MixWords(hi, lo) & (kPendingSlots - 1)];
  if (p.requests && p.addr != addr.bytes()) {
    ShmMap::Lock lock(*map_, pid_);
    FoldLocked(p);
  }
  if (!p.requests) {
    p.addr = addr.bytes();
    p.refused = 0;
    p.country[0] = p.country[1] = 0;
    p.status_3xx = p.status_4xx = p.status_5xx = 0;
    p.upstream_ms = p.bytes = 0;
  }
  p.requests++;
  if (sample.refused) p.refused++;
  if (sample.country && sample.country[0]) {
    p.country[0] = sample.country[0];
    p.country[1] = sample.country[1];
  }
  switch (sample.status / 100) {
    case 3:
      p.status_3xx++;
      break;
    case 4:
      p.status_4xx++;
      break;
    case 5:
      p.status_5xx++;
      break;
    default:
      break;
  }
  p.upstream_ms += sample.upstream_ms;
  p.bytes += sample.bytes;
  p.last_ms = now_ms;
  if (!sample.path.empty()) CountPath(sample, now_ms);
}

void TrafficCounter::Fold() {
  // The lock only once there is something to fold: nothing counted, nothing touched, which
  // also keeps a process that never served (the master) away from the zone.
  std::optional<ShmMap::Lock> lock;
  for (auto& p : pending_) {
    if (!p.requests) continue;
    if (!lock) lock.emplace(*map_, pid_);
    FoldLocked(p);
  }
  for (auto& p : pending_paths_) {
    if (!p.requests) continue;
    if (!lock) lock.emplace(*map_, pid_);
    FoldPathLocked(p);
  }
}

namespace {

std::string DetailKey(const IpAddress::Bytes& addr) {
  std::string key(reinterpret_cast<const char*>(addr.data()), addr.size());
  key.push_back(static_cast<char>(TrafficCounter::kDetailTag));
  return key;
}

// 8 bytes a step: a path is hashed on every request.
uint64_t PathHash(std::string_view path) {
  uint64_t h = path.size() * 0x9e3779b97f4a7c15ULL;
  size_t i = 0;
  for (; i + 8 <= path.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, path.data() + i, 8);
    h = MixWords(h, word);
  }
  uint64_t tail = 0;  // byte by byte: a call to memcpy for under 8 bytes costs more
  for (size_t shift = 0; i < path.size(); ++i, shift += 8) {
    tail |= uint64_t{static_cast<uint8_t>(path[i])} << shift;
  }
  return MixWords(h, tail);
}

std::string PathKey(uint64_t hash) {
  std::string key(1 + sizeof hash, static_cast<char>(TrafficCounter::kPathTag));
  std::memcpy(key.data() + 1, &hash, sizeof hash);
  return key;
}

std::string PathTextKey(uint64_t hash, size_t chunk) {
  std::string key(2 + sizeof hash, static_cast<char>(TrafficCounter::kPathTextTag));
  std::memcpy(key.data() + 1, &hash, sizeof hash);
  key.back() = static_cast<char>(chunk);
  return key;
}

uint32_t SaturatingAdd(uint32_t a, uint64_t b) {
  uint64_t sum = a + b;
  return sum > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(sum);
}

}  // namespace

void TrafficCounter::FoldLocked(Pending& p) {
  std::string_view key(reinterpret_cast<const char*>(p.addr.data()), p.addr.size());
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(key, p.last_ms, &fresh);
  if (slot) {
    Counts& c = ShmMap::Value<Counts>(slot);
    c.requests = SaturatingAdd(c.requests, p.requests);
    c.refused = SaturatingAdd(c.refused, p.refused);
    if (p.country[0]) {
      c.country[0] = p.country[0];
      c.country[1] = p.country[1];
    }
    map_->Enqueue(slot);
  }
  if (p.status_3xx || p.status_4xx || p.status_5xx || p.upstream_ms || p.bytes) {
    // Not queued: the flush reads it with its address's counts.
    ShmMap::Slot* d = map_->FindOrInsert(DetailKey(p.addr), p.last_ms, &fresh);
    if (d) {
      Detail& detail = ShmMap::Value<Detail>(d);
      detail.status_3xx = SaturatingAdd(detail.status_3xx, p.status_3xx);
      detail.status_4xx = SaturatingAdd(detail.status_4xx, p.status_4xx);
      detail.status_5xx = SaturatingAdd(detail.status_5xx, p.status_5xx);
      detail.upstream_ms = SaturatingAdd(detail.upstream_ms, p.upstream_ms);
      detail.bytes += p.bytes;
    }
  }
  p.requests = 0;
}

void TrafficCounter::CountPath(const Sample& sample, int64_t now_ms) {
  uint64_t hash = PathHash(sample.path);
  PendingPath& p = pending_paths_[hash & (kPendingPaths - 1)];
  if (p.requests && p.hash != hash) {
    ShmMap::Lock lock(*map_, pid_);
    FoldPathLocked(p);
  }
  if (!p.requests) {
    p.hash = hash;
    p.status_5xx = 0;
    p.upstream_ms = 0;
    p.text_len = static_cast<uint16_t>(std::min(sample.path.size(), kMaxPath));
    p.truncated = sample.path.size() > kMaxPath;
    std::memcpy(p.text, sample.path.data(), p.text_len);
  }
  p.requests++;
  if (sample.status / 100 == 5) p.status_5xx++;
  p.upstream_ms += sample.upstream_ms;
  p.last_ms = now_ms;
}

void TrafficCounter::FoldPathLocked(PendingPath& p) {
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(PathKey(p.hash), p.last_ms, &fresh);
  if (slot) {
    PathCounts& c = ShmMap::Value<PathCounts>(slot);
    c.requests = SaturatingAdd(c.requests, p.requests);
    c.status_5xx = SaturatingAdd(c.status_5xx, p.status_5xx);
    c.upstream_ms = SaturatingAdd(c.upstream_ms, p.upstream_ms);
    if (fresh || c.text_len == 0) {
      // The text once per path while it stays in the zone, not per fold.
      for (size_t chunk = 0; chunk * ShmMap::kValueBytes < p.text_len; ++chunk) {
        bool chunk_fresh = false;
        ShmMap::Slot* text =
            map_->FindOrInsert(PathTextKey(p.hash, chunk), p.last_ms, &chunk_fresh);
        if (!text) break;
        size_t n = std::min(ShmMap::kValueBytes, p.text_len - chunk * ShmMap::kValueBytes);
        std::memcpy(text->value, p.text + chunk * ShmMap::kValueBytes, n);
      }
      c.text_len = p.text_len;
      c.truncated = p.truncated;
    }
    map_->Enqueue(slot);
  }
  p.requests = 0;
}

std::string TrafficCounter::PathText(uint64_t hash, const PathCounts& counts) {
  std::string text;
  for (size_t chunk = 0; chunk * ShmMap::kValueBytes < counts.text_len; ++chunk) {
    ShmMap::Slot* slot = map_->Find(PathTextKey(hash, chunk));
    if (!slot) return "";  // evicted since: the counts go without a name
    size_t n = std::min<size_t>(ShmMap::kValueBytes, counts.text_len - chunk * ShmMap::kValueBytes);
    text.append(reinterpret_cast<const char*>(slot->value), n);
  }
  if (counts.truncated) text += "...";
  return text;
}

void TrafficCounter::Flush(AsyncRedis* redis, const RedisSchema& schema,
                           const std::string& decided) {
  if (in_flight_ || !redis || !redis->connected()) return;
  Fold();
  std::vector<std::string> keys;
  std::vector<std::string> args = {"EVAL",
                                   RedisSchema::kTrafficScript,
                                   "0",
                                   schema.prefix(),
                                   std::to_string(kRetentionMs),
                                   decided,
                                   "0"};
  std::vector<std::string> paths;  // groups of four, after the addresses'
  size_t addresses = 0;
  {
    ShmMap::Lock lock(*map_, pid_);
    // (Counts and PathCounts both begin with the requests.)
    map_->Drain(&keys, kBatch,
                [](ShmMap::Slot* s) { return ShmMap::Value<Counts>(s).requests > 0; });
    for (auto& key : keys) {
      ShmMap::Slot* slot = map_->Find(key);
      if (!slot) continue;
      if (key.size() == 9 && static_cast<uint8_t>(key[0]) == kPathTag) {
        PathCounts& c = ShmMap::Value<PathCounts>(slot);
        uint64_t hash;
        std::memcpy(&hash, key.data() + 1, sizeof hash);
        std::string text = PathText(hash, c);
        if (c.requests && !text.empty()) {
          paths.push_back(std::move(text));
          paths.push_back(std::to_string(c.requests));
          paths.push_back(std::to_string(c.status_5xx));
          paths.push_back(std::to_string(c.upstream_ms));
        }
        c.requests = c.status_5xx = c.upstream_ms = 0;
        continue;
      }
      if (key.size() != 16) continue;
      Counts& c = ShmMap::Value<Counts>(slot);
      if (c.requests == 0) continue;
      IpAddress::Bytes bytes;
      for (size_t i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(key[i]);
      Detail detail{};
      if (ShmMap::Slot* d = map_->Find(DetailKey(bytes))) {
        detail = ShmMap::Value<Detail>(d);
        ShmMap::Value<Detail>(d) = Detail{};
      }
      uint32_t others = detail.status_3xx + detail.status_4xx + detail.status_5xx;
      args.push_back(IpAddress(bytes).ToString());
      args.push_back(std::to_string(c.requests));
      args.push_back(std::to_string(c.refused));
      args.push_back(c.country[0] ? std::string(c.country, 2) : "");
      // 2xx: the rest (1xx and requests with no status, 000, count as 2xx: too few to matter)
      args.push_back(std::to_string(c.requests > others ? c.requests - others : 0));
      args.push_back(std::to_string(detail.status_3xx));
      args.push_back(std::to_string(detail.status_4xx));
      args.push_back(std::to_string(detail.status_5xx));
      args.push_back(std::to_string(detail.bytes));
      args.push_back(std::to_string(detail.upstream_ms));
      c.requests = c.refused = 0;
      ++addresses;
    }
  }
  if (addresses == 0 && paths.empty() && decided.empty()) return;
  args[6] = std::to_string(addresses);
  args.insert(args.end(), std::make_move_iterator(paths.begin()),
              std::make_move_iterator(paths.end()));
  in_flight_ = true;
  bool sent = redis->Send(args, redis->endpoint().timeout_ms, [this](redisReply*) {
    // Counts lost with a failed flush are gone: they are statistics, not state.
    in_flight_ = false;
  });
  if (!sent) in_flight_ = false;
}

}  // namespace warden
