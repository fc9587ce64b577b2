// LimitSync without a Redis: the bucket keys it writes, and that a node that cannot reach
// Redis keeps its counts for the next push instead of dropping them. Pushing to a real Redis
// is covered by limit_integration_test.
#include "core/limit_sync.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/async_redis.h"

namespace warden {
namespace {

TEST(LimitSyncTest, BucketKeysAreHexOfTheStoredKey) {
  RedisSchema schema("app:");
  EXPECT_EQ(LimitBucketKey(schema, "api", std::string("\x7f\x00\x00\x01", 4)),
            "app:rl:api:7f000001");
  EXPECT_EQ(LimitBucketKey(schema, "z", ""), "app:rl:z:");
}

TEST(LimitSyncTest, CountsWaitForRedisInsteadOfBeingDropped) {
  std::vector<char> region(ShmMap::RegionSize(1024));
  ShmMap map;
  ASSERT_TRUE(map.Attach(region.data(), region.size()));
  RateLimiter limiter(&map);
  int64_t now = 1'000'000;
  Clock clock = [&now] { return now; };
  RedisEndpoint endpoint;
  endpoint.unix_path = "/nonexistent/warden-test/redis.sock";
  AsyncRedis redis(
      endpoint, "limit sync", clock, [](redisAsyncContext*) { return false; },
      [](LogLevel, const std::string&) {});
  LimitSync sync("api", 10'000, 100, &limiter, &redis, RedisSchema(), getpid(), clock);

  LeakyBucketParams params;
  params.rate = 10'000;
  params.burst = 5'000;
  params.delay = LeakyBucketParams::kNoDelay;
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(limiter.Take("k", params, now, getpid(), true).rejected);
  for (int i = 0; i < 10; ++i) {
    redis.Tick();
    sync.Tick();
    now += 100;
  }
  EXPECT_FALSE(redis.connected());
  EXPECT_EQ(sync.pushes(), 0u);
  std::vector<RateLimiter::Count> counts = limiter.TakeCounts(LimitSync::kMaxKeysPerPush, getpid());
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].accepted, 3u);
}

}  // namespace
}  // namespace warden
