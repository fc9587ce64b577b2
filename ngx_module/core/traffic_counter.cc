#include "core/traffic_counter.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include "core/shm_layout.h"

namespace warden {

namespace {

uint32_t SaturatingAdd(uint32_t a, uint64_t b) {
  uint64_t sum = a + b;
  return sum > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(sum);
}

// Adds `weight` occurrences of `hash` to a Misra–Gries summary of two counters (count 0: free).
// Merging summaries item by item this way keeps the guarantee: an item with more than a third
// of the weight keeps a counter.
void MisraGries2(uint64_t hash[2], uint32_t count[2], uint64_t item, uint64_t weight) {
  for (int i = 0; i < 2; ++i) {
    if (count[i] && hash[i] == item) {
      count[i] = SaturatingAdd(count[i], weight);
      return;
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (!count[i]) {
      hash[i] = item;
      count[i] = SaturatingAdd(0, weight);
      return;
    }
  }
  const uint64_t least = std::min<uint64_t>({count[0], count[1], weight});
  count[0] -= static_cast<uint32_t>(least);
  count[1] -= static_cast<uint32_t>(least);
  weight -= least;
  if (weight) {
    const int i = count[0] == 0 ? 0 : 1;
    hash[i] = item;
    count[i] = SaturatingAdd(0, weight);
  }
}

// The same with one counter (Boyer–Moore's majority vote, weighted); true when `item` took it.
bool MisraGries1(uint64_t* hash, uint32_t* count, uint64_t item, uint64_t weight) {
  if (*count && *hash == item) {
    *count = SaturatingAdd(*count, weight);
    return false;
  }
  if (weight > *count) {
    *hash = item;
    *count = SaturatingAdd(0, weight - *count);
    return true;
  }
  *count -= static_cast<uint32_t>(weight);
  return false;
}

std::string DecidedKey(size_t slot) {
  return {static_cast<char>(TrafficCounter::kDecidedTag), static_cast<char>(slot)};
}

// 8 bytes a step: a path is hashed on every request. The bytes after the last whole word are
// read as one word ending at the text's end (it overlaps the word before), or for a short text
// as two overlapping halves: fixed-size loads, no loop over single bytes. The length mixed in
// first tells apart texts the overlap would make look alike.
uint64_t TextHash(std::string_view text) {
  const char* data = text.data();
  const size_t n = text.size();
  uint64_t h = n * 0x9e3779b97f4a7c15ULL;
  uint64_t word;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::memcpy(&word, data + i, 8);
    h = MixWords(h, word);
  }
  if (i == n && n) return h;
  if (n >= 8) {
    std::memcpy(&word, data + n - 8, 8);
  } else if (n >= 4) {
    uint32_t first, last;
    std::memcpy(&first, data, 4);
    std::memcpy(&last, data + n - 4, 4);
    word = first | uint64_t{last} << 32;
  } else {
    word = 0;  // 0-3 bytes: the first, the middle and the last
    if (n) {
      word = uint64_t{static_cast<uint8_t>(data[0])} |
             uint64_t{static_cast<uint8_t>(data[n / 2])} << 8 |
             uint64_t{static_cast<uint8_t>(data[n - 1])} << 16;
    }
  }
  return MixWords(h, word);
}

}  // namespace

void TrafficCounter::Count(const IpAddress& addr, const Sample& sample, int64_t now_ms) {
  if (sample.decision >= 0 && sample.decision < NodeStats::kDecisions) {
    decided_[sample.decision]++;
    if (sample.cause >= 1 && sample.cause <= NodeStats::kBlockCauses) {
      decided_[NodeStats::kDecisions + sample.cause - 1]++;
    }
    decided_ms_ = std::max<int64_t>(now_ms, 1);
  }
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
    p.strikes = 0;
    p.paths = DistinctPaths();
    p.top = TopPaths{};
    p.ua_count = 0;
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
  if (sample.strikes > p.strikes) p.strikes = sample.strikes;
  if (!sample.user_agent.empty()) CountUserAgent(p, sample.user_agent);
  if (!sample.path.empty()) {
    // The path's hash, computed once for its own counts, also marks the address's sketches.
    const uint64_t hash = CountPath(sample, now_ms);
    p.paths.Add(hash);
    MisraGries2(p.top.hash, p.top.count, hash, 1);
  }
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
  if (decided_ms_) {
    if (!lock) lock.emplace(*map_, pid_);
    for (size_t slot_index = 0; slot_index * kDecidedPerSlot < kDecided; ++slot_index) {
      bool fresh = false;
      ShmMap::Slot* slot = map_->FindOrInsert(DecidedKey(slot_index), decided_ms_, &fresh);
      if (!slot) continue;  // (lost: statistics)
      auto* counts = reinterpret_cast<uint32_t*>(slot->value);
      for (size_t i = 0; i < kDecidedPerSlot; ++i) {
        const size_t d = slot_index * kDecidedPerSlot + i;
        if (d < kDecided) counts[i] = SaturatingAdd(counts[i], decided_[d]);
      }
    }
    std::fill(std::begin(decided_), std::end(decided_), 0);
    decided_ms_ = 0;
  }
}

std::string TrafficCounter::TakeDecided() {
  std::string out;
  for (size_t slot_index = 0; slot_index * kDecidedPerSlot < kDecided; ++slot_index) {
    ShmMap::Slot* slot = map_->Find(DecidedKey(slot_index));
    if (!slot) continue;
    auto* counts = reinterpret_cast<uint32_t*>(slot->value);
    for (size_t i = 0; i < kDecidedPerSlot; ++i) {
      const size_t d = slot_index * kDecidedPerSlot + i;
      if (d >= kDecided || !counts[i]) continue;
      if (!out.empty()) out += ' ';
      out += d < NodeStats::kDecisions
                 ? NodeStats::DecisionName(static_cast<int>(d))
                 : NodeStats::BlockCauseName(static_cast<int>(d - NodeStats::kDecisions));
      out += "=" + std::to_string(counts[i]);
      counts[i] = 0;
    }
  }
  return out;
}

namespace {

std::string DetailKey(const IpAddress::Bytes& addr) {
  std::string key(reinterpret_cast<const char*>(addr.data()), addr.size());
  key.push_back(static_cast<char>(TrafficCounter::kDetailTag));
  return key;
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

std::string TaggedKey(const IpAddress::Bytes& addr, uint8_t tag) {
  std::string key(reinterpret_cast<const char*>(addr.data()), addr.size());
  key.push_back(static_cast<char>(tag));
  return key;
}

std::string UserAgentKey(uint64_t hash, size_t chunk) {
  std::string key(2 + sizeof hash, static_cast<char>(TrafficCounter::kUserAgentTag));
  std::memcpy(key.data() + 1, &hash, sizeof hash);
  key.back() = static_cast<char>(chunk);
  return key;
}

}  // namespace

void TrafficCounter::CountUserAgent(Pending& p, std::string_view user_agent) {
  const size_t len = std::min(user_agent.size(), kMaxUserAgent);
  if (p.ua_count && p.ua_len == len && std::memcmp(p.ua_text, user_agent.data(), len) == 0) {
    p.ua_count++;  // the same as before: compared, not hashed
    return;
  }
  if (p.ua_count) {
    p.ua_count--;
    return;
  }
  // A new candidate: hashed once, with the lowest bit telling whether it was cut short.
  std::string_view kept = user_agent.substr(0, len);
  p.ua_hash = (TextHash(kept) & ~uint64_t{1}) | (user_agent.size() > kMaxUserAgent ? 1 : 0);
  p.ua_count = 1;
  p.ua_len = static_cast<uint8_t>(len);
  std::memcpy(p.ua_text, kept.data(), len);
}

void TrafficCounter::StoreUserAgentLocked(const Pending& p) {
  // Its text once while it stays in the zone, shared by every address that sends it; each
  // fold that needs it keeps it as recent as the counts, so the LRU does not take it first.
  for (size_t chunk = 0; chunk < kUserAgentChunks && chunk * ShmMap::kValueBytes <= p.ua_len;
       ++chunk) {
    bool fresh = false;
    ShmMap::Slot* slot = map_->FindOrInsert(UserAgentKey(p.ua_hash, chunk), p.last_ms, &fresh);
    if (!slot) return;
    if (!fresh) continue;
    const size_t from = chunk * ShmMap::kValueBytes;
    const size_t n = std::min(ShmMap::kValueBytes, p.ua_len - from);
    std::memcpy(slot->value, p.ua_text + from, n);  // (a fresh slot's value is zero: NUL-padded)
  }
}

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
    if (p.strikes > c.strikes)
      c.strikes = static_cast<uint16_t>(std::min<uint32_t>(p.strikes, UINT16_MAX));
    if (p.ua_count) MisraGries1(&c.ua_hash, &c.ua_count, p.ua_hash, p.ua_count);
    // This worker's user agent is the address's: its text is needed (and kept recent).
    const bool user_agent_text = p.ua_count && c.ua_count && c.ua_hash == p.ua_hash;
    map_->Enqueue(slot);
    // (Each slot is done with before the next lookup: an insertion may move slots.)
    if (user_agent_text) StoreUserAgentLocked(p);
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
  FoldPathsLocked(p);
  p.requests = 0;
}

void TrafficCounter::FoldPathsLocked(Pending& p) {
  bool fresh = false;
  if (!p.paths.empty()) {
    if (ShmMap::Slot* slot =
            map_->FindOrInsert(TaggedKey(p.addr, kProfileTag), p.last_ms, &fresh)) {
      Profile& profile = ShmMap::Value<Profile>(slot);
      profile.path_bits[0] |= p.paths.word(0);
      profile.path_bits[1] |= p.paths.word(1);
    }
  }
  if (p.top.count[0] || p.top.count[1]) {
    if (ShmMap::Slot* slot =
            map_->FindOrInsert(TaggedKey(p.addr, kTopPathsTag), p.last_ms, &fresh)) {
      TopPaths& top = ShmMap::Value<TopPaths>(slot);
      for (int i = 0; i < 2; ++i) {
        if (p.top.count[i]) MisraGries2(top.hash, top.count, p.top.hash[i], p.top.count[i]);
      }
    }
  }
}

uint64_t TrafficCounter::CountPath(const Sample& sample, int64_t now_ms) {
  uint64_t hash = TextHash(sample.path);
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
  return hash;
}

void TrafficCounter::FoldPathLocked(PendingPath& p) {
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(PathKey(p.hash), p.last_ms, &fresh);
  const uint32_t requests = p.requests;
  p.requests = 0;
  if (!slot) return;
  PathCounts& c = ShmMap::Value<PathCounts>(slot);
  c.requests = SaturatingAdd(c.requests, requests);
  c.status_5xx = SaturatingAdd(c.status_5xx, p.status_5xx);
  c.upstream_ms = SaturatingAdd(c.upstream_ms, p.upstream_ms);
  c.text_len = p.text_len;
  c.truncated = p.truncated;
  map_->Enqueue(slot);
  // Its text beside it, written once while it stays in the zone and kept as recent as its
  // counts (after them: an insertion may move slots).
  for (size_t chunk = 0; chunk * ShmMap::kValueBytes < p.text_len; ++chunk) {
    bool chunk_fresh = false;
    ShmMap::Slot* text = map_->FindOrInsert(PathTextKey(p.hash, chunk), p.last_ms, &chunk_fresh);
    if (!text) break;
    if (!chunk_fresh) continue;
    size_t n = std::min(ShmMap::kValueBytes, p.text_len - chunk * ShmMap::kValueBytes);
    std::memcpy(text->value, p.text + chunk * ShmMap::kValueBytes, n);
  }
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

std::string TrafficCounter::UserAgentText(uint64_t hash) {
  std::string text;
  for (size_t chunk = 0; chunk < kUserAgentChunks; ++chunk) {
    ShmMap::Slot* slot = map_->Find(UserAgentKey(hash, chunk));
    if (!slot) return "";  // evicted since (the text ends in a NUL before a missing chunk)
    const char* value = reinterpret_cast<const char*>(slot->value);
    const size_t n = strnlen(value, ShmMap::kValueBytes);
    text.append(value, n);
    if (n < ShmMap::kValueBytes) break;
  }
  if (hash & 1) text += "...";
  return text;
}

TrafficCounter::AddressProfile TrafficCounter::TakeProfile(const IpAddress::Bytes& addr) {
  AddressProfile out;
  std::string_view key(reinterpret_cast<const char*>(addr.data()), addr.size());
  uint64_t ua_hash = 0;
  if (ShmMap::Slot* slot = map_->Find(key)) {
    Counts& c = ShmMap::Value<Counts>(slot);
    out.strikes = c.strikes;
    out.user_agent_count = c.ua_count;
    ua_hash = c.ua_hash;
    c.strikes = 0;
    c.ua_count = 0;
  }
  if (out.user_agent_count) out.user_agent = UserAgentText(ua_hash);
  if (out.user_agent.empty()) out.user_agent_count = 0;
  if (ShmMap::Slot* slot = map_->Find(TaggedKey(addr, kProfileTag))) {
    Profile& profile = ShmMap::Value<Profile>(slot);
    out.paths.set_word(0, profile.path_bits[0]);
    out.paths.set_word(1, profile.path_bits[1]);
    profile = Profile{};
  }
  if (ShmMap::Slot* slot = map_->Find(TaggedKey(addr, kTopPathsTag))) {
    TopPaths top = ShmMap::Value<TopPaths>(slot);
    ShmMap::Value<TopPaths>(slot) = TopPaths{};
    const int best = top.count[1] > top.count[0] ? 1 : 0;
    if (top.count[best]) {
      if (ShmMap::Slot* path = map_->Find(PathKey(top.hash[best]))) {
        out.top_path = PathText(top.hash[best], ShmMap::Value<PathCounts>(path));
        if (!out.top_path.empty()) out.top_path_count = top.count[best];
      }
    }
  }
  return out;
}

void TrafficCounter::Flush(AsyncClient* redis, const RedisSchema& schema, int64_t minute) {
  if (in_flight_ || !redis || !redis->connected()) return;
  Fold();
  std::vector<std::string> keys;
  std::vector<std::string> args = {"EVAL", RedisSchema::kTrafficScript,
                                   std::to_string(RedisSchema::kTrafficFamilies.size())};
  for (std::string& key : schema.TrafficKeys(minute)) args.push_back(std::move(key));
  const size_t decided = args.size() + 2;  // ARGV[3]
  args.insert(args.end(), {std::to_string(minute), std::to_string(kRetentionMs), "", "0"});
  std::vector<std::string> paths;  // groups of four, after the addresses'
  size_t addresses = 0;
  {
    ShmMap::Lock lock(*map_, pid_);
    args[decided] = TakeDecided();
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
      AddressProfile profile = TakeProfile(bytes);
      args.push_back(profile.paths.ToHex());
      args.push_back(std::move(profile.top_path));
      args.push_back(std::to_string(profile.top_path_count));
      args.push_back(std::move(profile.user_agent));
      args.push_back(std::to_string(profile.user_agent_count));
      args.push_back(std::to_string(profile.strikes));
      ++addresses;
    }
  }
  if (addresses == 0 && paths.empty() && args[decided].empty()) return;
  args[decided + 1] = std::to_string(addresses);
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
