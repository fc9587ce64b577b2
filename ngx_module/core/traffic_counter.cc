#include "core/traffic_counter.h"

#include <hiredis/hiredis.h>

#include <cstring>
#include <optional>
#include <vector>

#include "core/shm_layout.h"

namespace warden {

void TrafficCounter::Count(const IpAddress& addr, bool refused, const char* country,
                           int64_t now_ms) {
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
  }
  p.requests++;
  if (refused) p.refused++;
  if (country && country[0]) {
    p.country[0] = country[0];
    p.country[1] = country[1];
  }
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

void TrafficCounter::FoldLocked(Pending& p) {
  std::string_view key(reinterpret_cast<const char*>(p.addr.data()), p.addr.size());
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(key, p.last_ms, &fresh);
  if (slot) {
    Counts& c = ShmMap::Value<Counts>(slot);
    c.requests += p.requests;
    c.refused += p.refused;
    if (p.country[0]) {
      c.country[0] = p.country[0];
      c.country[1] = p.country[1];
    }
    map_->Enqueue(slot);
  }
  p.requests = 0;
}

void TrafficCounter::Flush(AsyncRedis* redis, const RedisSchema& schema) {
  if (in_flight_ || !redis || !redis->connected()) return;
  Fold();
  std::vector<std::string> keys;
  std::vector<std::string> args = {"EVAL", RedisSchema::kTrafficScript, "0", schema.prefix(),
                                   std::to_string(kRetentionMs)};
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
      args.push_back(IpAddress(bytes).ToString());
      args.push_back(std::to_string(c.requests));
      args.push_back(std::to_string(c.refused));
      args.push_back(c.country[0] ? std::string(c.country, 2) : "");
      c.requests = c.refused = 0;
    }
  }
  if (args.size() == 5) return;
  in_flight_ = true;
  bool sent = redis->Send(args, redis->endpoint().timeout_ms, [this](redisReply*) {
    // Counts lost with a failed flush are gone: they are statistics, not state.
    in_flight_ = false;
  });
  if (!sent) in_flight_ = false;
}

}  // namespace warden
