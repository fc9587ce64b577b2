#include "core/traffic_counter.h"

#include <hiredis/hiredis.h>

#include <cstring>
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
}

namespace {

std::string DetailKey(const IpAddress::Bytes& addr) {
  std::string key(reinterpret_cast<const char*>(addr.data()), addr.size());
  key.push_back(static_cast<char>(TrafficCounter::kDetailTag));
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

void TrafficCounter::Flush(AsyncRedis* redis, const RedisSchema& schema,
                           const std::string& decided) {
  if (in_flight_ || !redis || !redis->connected()) return;
  Fold();
  std::vector<std::string> keys;
  std::vector<std::string> args = {"EVAL",          RedisSchema::kTrafficScript,  "0",
                                   schema.prefix(), std::to_string(kRetentionMs), decided};
  {
    ShmMap::Lock lock(*map_, pid_);
    map_->Drain(&keys, kBatch,
                [](ShmMap::Slot* s) { return ShmMap::Value<Counts>(s).requests > 0; });
    for (auto& key : keys) {
      ShmMap::Slot* slot = map_->Find(key);
      if (!slot || key.size() != 16) continue;
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
    }
  }
  if (args.size() == 6 && decided.empty()) return;
  in_flight_ = true;
  bool sent = redis->Send(args, redis->endpoint().timeout_ms, [this](redisReply*) {
    // Counts lost with a failed flush are gone: they are statistics, not state.
    in_flight_ = false;
  });
  if (!sent) in_flight_ = false;
}

}  // namespace warden
