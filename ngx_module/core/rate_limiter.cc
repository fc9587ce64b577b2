#include "core/rate_limiter.h"

namespace warden {

LeakyBucketVerdict RateLimiter::Take(std::string_view key, const LeakyBucketParams& params,
                                     int64_t now_ms, int32_t pid, bool count_for_sync) {
  ShmMap::Lock lock(*map_, pid);
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(key, now_ms, &fresh);
  if (!slot) return LeakyBucketVerdict{};  // cannot happen: the map evicts; fail open anyway
  Bucket& b = ShmMap::Value<Bucket>(slot);
  LeakyBucketState state{b.excess, b.last_ms};
  LeakyBucketVerdict v = LeakyBucket::Take(params, &state, now_ms, fresh);
  if (!v.rejected) {
    b.excess = state.excess;
    b.last_ms = state.last_ms;
    if (count_for_sync) {
      b.pending++;
      map_->Enqueue(slot);
    }
  }
  return v;
}

std::vector<RateLimiter::Count> RateLimiter::TakeCounts(size_t max, int32_t pid) {
  std::vector<std::string> keys;
  std::vector<Count> counts;
  ShmMap::Lock lock(*map_, pid);
  map_->Drain(&keys, max, [](ShmMap::Slot* s) { return ShmMap::Value<Bucket>(s).pending > 0; });
  counts.reserve(keys.size());
  for (auto& key : keys) {
    ShmMap::Slot* slot = map_->Find(key);
    if (!slot) continue;
    Bucket& b = ShmMap::Value<Bucket>(slot);
    if (b.pending == 0) continue;
    counts.push_back(Count{std::move(key), b.pending});
    b.pending = 0;
  }
  return counts;
}

void RateLimiter::SetFleetLevel(std::string_view stored_key, int64_t fleet_excess, int64_t now_ms,
                                int32_t pid) {
  ShmMap::Lock lock(*map_, pid);
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(stored_key, now_ms, &fresh);
  if (!slot) return;
  Bucket& b = ShmMap::Value<Bucket>(slot);
  int64_t level = fleet_excess + int64_t{b.pending} * 1000;
  // An empty fleet bucket leaves the local one alone: it knows when this key was last served,
  // and resetting that time to now would withhold up to one request's worth of leak.
  if (level == 0 && b.excess == 0 && !fresh) return;
  b.excess = level;
  b.last_ms = now_ms;
}

void RateLimiter::Mirror(std::string_view stored_key, int64_t level, bool refused, int64_t now_ms,
                         int32_t pid) {
  ShmMap::Lock lock(*map_, pid);
  bool fresh = false;
  ShmMap::Slot* slot = map_->FindOrInsert(stored_key, now_ms, &fresh);
  if (!slot) return;
  Bucket& b = ShmMap::Value<Bucket>(slot);
  b.excess = refused ? level - 1000 : level;
  if (b.excess < 0) b.excess = 0;
  b.last_ms = now_ms;
}

}  // namespace warden
