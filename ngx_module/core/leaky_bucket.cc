#include "core/leaky_bucket.h"

namespace warden {

namespace {

int64_t Elapsed(const LeakyBucketState& s, int64_t now_ms) {
  int64_t ms = now_ms - s.last_ms;
  // As limit_req: a clock far behind (a jump) counts as 1 ms, slightly behind as none.
  if (ms < -60000) return 1;
  if (ms < 0) return 0;
  return ms;
}

// The verdict on a request that brings the bucket to `excess`.
LeakyBucketVerdict Judge(const LeakyBucketParams& p, int64_t excess) {
  LeakyBucketVerdict v;
  v.excess = excess;
  if (excess > p.burst) {
    v.rejected = true;
    // The next request is accepted once the level has leaked down to burst - 1 request.
    int64_t over = excess - p.burst;
    v.retry_after_ms = p.rate > 0 ? (over * 1000 + p.rate - 1) / p.rate : 0;
  } else if (excess > p.delay) {
    v.delay_ms = (excess - p.delay) * 1000 / p.rate;
  }
  return v;
}

}  // namespace

int64_t LeakyBucket::SimultaneousAccepted(const LeakyBucketParams& p, int64_t first_excess,
                                          int64_t count) {
  if (first_excess > p.burst || count <= 0) return 0;
  int64_t fit = (p.burst - first_excess) / 1000 + 1;
  return fit < count ? fit : count;
}

LeakyBucketVerdict LeakyBucket::Simultaneous(const LeakyBucketParams& p, int64_t first_excess,
                                             int64_t index) {
  int64_t accepted = SimultaneousAccepted(p, first_excess, index + 1);
  // Accepted ones each add a request; a refused one sees the level the last accepted left.
  return Judge(p, first_excess + accepted * 1000 - (accepted > index ? 1000 : 0));
}

int64_t LeakyBucket::Drained(const LeakyBucketParams& p, const LeakyBucketState& state,
                             int64_t now_ms) {
  int64_t excess = state.excess - p.rate * Elapsed(state, now_ms) / 1000;
  return excess < 0 ? 0 : excess;
}

LeakyBucketVerdict LeakyBucket::Take(const LeakyBucketParams& p, LeakyBucketState* state,
                                     int64_t now_ms, bool fresh) {
  int64_t ms = 0;
  int64_t excess = 0;
  if (!fresh) {
    ms = Elapsed(*state, now_ms);
    excess = state->excess - p.rate * ms / 1000 + 1000;
    if (excess < 0) excess = 0;
  }
  LeakyBucketVerdict v = Judge(p, excess);
  if (v.rejected) return v;
  state->excess = excess;
  if (fresh || ms) state->last_ms = now_ms;
  return v;
}

}  // namespace warden
