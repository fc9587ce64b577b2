#pragma once

#include <cstdint>

namespace warden {

// nginx limit_req's leaky bucket, to the letter, so an operator can rename limit_req to
// warden_limit and get the same behaviour. Quantities are in thousandths of a request, as in
// limit_req: `rate` is requests per second x 1000, `excess` and `burst` are requests x 1000.
struct LeakyBucketParams {
  int64_t rate = 1000;  // 1 r/s
  int64_t burst = 0;    // burst=N -> N * 1000
  int64_t delay = 0;    // requests served without delay, x 1000; nodelay: kNoDelay
  static constexpr int64_t kNoDelay = INT64_MAX / 2;
};

struct LeakyBucketState {
  int64_t excess = 0;
  int64_t last_ms = 0;
};

struct LeakyBucketVerdict {
  bool rejected = false;
  int64_t excess = 0;          // the bucket's level after (or, rejected, at) this request
  int64_t delay_ms = 0;        // how long to hold an accepted request
  int64_t retry_after_ms = 0;  // rejected: when a request would be accepted again
  bool unanswered = false;     // sync=exact: decided by the fail mode, Redis did not answer
};

class LeakyBucket {
 public:
  // No bucket gets near this level (requests x 1000; burst is at most a million): a larger
  // number from Redis is malformed, not a level.
  static constexpr int64_t kMaxLevel = int64_t{1} << 40;

  // One request at `now_ms` against `state`, which is updated unless the request is rejected
  // (rejected requests are not counted, as in limit_req). `fresh` marks a key seen for the
  // first time.
  static LeakyBucketVerdict Take(const LeakyBucketParams& p, LeakyBucketState* state,
                                 int64_t now_ms, bool fresh);
  // The index-th (from 0) of requests for one key that arrive at one instant, given the level
  // the first of them made (its verdict's excess): each accepted one adds a request, and once
  // one is refused the rest see that same level. Equal to calling Take for each in turn, so
  // exact mode can send Redis a count per key instead of a command per request.
  static LeakyBucketVerdict Simultaneous(const LeakyBucketParams& p, int64_t first_excess,
                                         int64_t index);
  // How many of `count` simultaneous requests are accepted, the first making `first_excess`.
  static int64_t SimultaneousAccepted(const LeakyBucketParams& p, int64_t first_excess,
                                      int64_t count);
  // The level the bucket drains to by `now_ms` without new requests.
  static int64_t Drained(const LeakyBucketParams& p, const LeakyBucketState& state, int64_t now_ms);
};

}  // namespace warden
