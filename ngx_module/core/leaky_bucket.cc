#include "leaky_bucket.h"

namespace warden {

namespace {

int64_t Elapsed(const LeakyBucketState& s, int64_t now_ms) {
  int64_t ms = now_ms - s.last_ms;
  // As limit_req: a clock far behind (a jump) counts as 1 ms, slightly behind as none.
  if (ms < -60000) return 1;
  if (ms < 0) return 0;
  return ms;
}

}  // namespace

int64_t LeakyBucket::Drained(const LeakyBucketParams& p, const LeakyBucketState& state,
                             int64_t now_ms) {
  int64_t excess = state.excess - p.rate * Elapsed(state, now_ms) / 1000;
  return excess < 0 ? 0 : excess;
}

LeakyBucketVerdict LeakyBucket::Take(const LeakyBucketParams& p, LeakyBucketState* state,
                                     int64_t now_ms, bool fresh) {
  LeakyBucketVerdict v;
  int64_t ms = 0;
  int64_t excess = 0;
  if (!fresh) {
    ms = Elapsed(*state, now_ms);
    excess = state->excess - p.rate * ms / 1000 + 1000;
    if (excess < 0) excess = 0;
  }
  v.excess = excess;
  if (excess > p.burst) {
    v.rejected = true;
    // The next request is accepted once the level has leaked down to burst - 1 request.
    int64_t over = excess - p.burst;
    v.retry_after_ms = p.rate > 0 ? (over * 1000 + p.rate - 1) / p.rate : 0;
    return v;
  }
  state->excess = excess;
  if (fresh || ms) state->last_ms = now_ms;
  if (excess > p.delay) v.delay_ms = (excess - p.delay) * 1000 / p.rate;
  return v;
}

}  // namespace warden
