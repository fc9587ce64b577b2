#include "core/rate_limiter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

namespace warden {
namespace {

LeakyBucketParams Rate(int64_t rps, int64_t burst = 0) {
  LeakyBucketParams p;
  p.rate = rps * 1000;
  p.burst = burst * 1000;
  p.delay = LeakyBucketParams::kNoDelay;
  return p;
}

struct Node {
  std::vector<char> region;
  ShmMap map;
  RateLimiter limiter{&map};
  Node() {
    region.resize(ShmMap::RegionSize(1024));
    map.Attach(region.data(), region.size());
  }
};

// The fleet-wide bucket as the interval-sync script keeps it in Redis.
struct FleetBucket {
  int64_t excess = 0;
  int64_t last_ms = 0;
  bool seen = false;
  int64_t Add(int64_t rate, uint32_t n, int64_t now) {
    if (seen) {
      excess += int64_t{n} * 1000 - rate * (now - last_ms) / 1000;
      if (excess < 0) excess = 0;
    } else {
      // A new key: its requests came within the last interval, the first one free.
      excess = int64_t{n - 1} * 1000 - rate * 100 / 1000;
      if (excess < 0) excess = 0;
      seen = true;
    }
    last_ms = now;
    return excess;
  }
};

TEST(RateLimiterTest, SingleNodeMatchesTheBucket) {
  Node n;
  int accepted = 0;
  for (int t = 0; t < 1000; ++t) {
    accepted += !n.limiter.Take("k", Rate(10), t, getpid(), false).rejected;
  }
  EXPECT_EQ(accepted, 10);  // 10 r/s over one second: the first free, then one per 100 ms
}

TEST(RateLimiterTest, RejectedRequestsAreNotCountedForSync) {
  Node n;
  for (int t = 0; t < 100; ++t) n.limiter.Take("k", Rate(10), t, getpid(), true);
  auto counts = n.limiter.TakeCounts(100, getpid());
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].key, "k");
  EXPECT_EQ(counts[0].accepted, 1u);
  EXPECT_TRUE(n.limiter.TakeCounts(100, getpid()).empty());
}

TEST(RateLimiterTest, FleetLevelAddsWhatArrivedMeanwhile) {
  Node n;
  n.limiter.Take("k", Rate(10, 100), 0, getpid(), true);
  auto counts = n.limiter.TakeCounts(100, getpid());
  n.limiter.Take("k", Rate(10, 100), 0, getpid(), true);  // after the push was sent
  n.limiter.SetFleetLevel("k", 5000, 0, getpid());
  // Fleet level 5 requests + 1 local since: the next request sees 7.
  auto v = n.limiter.Take("k", Rate(10, 100), 0, getpid(), true);
  EXPECT_EQ(v.excess, 7000);
}

// Two nodes taking traffic for one key, syncing every 100 ms through a fleet bucket: the fleet
// admits about the configured rate, not twice it.
TEST(RateLimiterTest, TwoNodesConvergeOnTheFleetRate) {
  Node a, b;
  FleetBucket fleet;
  auto params = Rate(20, 5);
  int accepted = 0;
  const int kSeconds = 10;
  for (int t = 0; t < kSeconds * 1000; ++t) {
    // Each node gets a request every 10 ms: 200 r/s in all against a 20 r/s limit.
    if (t % 10 == 0) accepted += !a.limiter.Take("ip", params, t, getpid(), true).rejected;
    if (t % 10 == 5) accepted += !b.limiter.Take("ip", params, t, getpid(), true).rejected;
    if (t % 100 == 0) {
      for (Node* n : {&a, &b}) {
        for (auto& c : n->limiter.TakeCounts(100, getpid())) {
          n->limiter.SetFleetLevel(c.key, fleet.Add(params.rate, c.accepted, t), t, getpid());
        }
      }
    }
  }
  double expected = 20.0 * kSeconds;
  EXPECT_NEAR(accepted, expected, expected * 0.15) << accepted;
  std::printf("simulated fleet admitted %d of %.0f\n", accepted, expected);
}

}  // namespace
}  // namespace warden
