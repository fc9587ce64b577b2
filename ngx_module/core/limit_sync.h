#pragma once

#include <cstdint>
#include <string>

#include "core/async_redis.h"
#include "core/rate_limiter.h"
#include "common/redis_schema.h"

namespace warden {

// The interval mode of a `warden_limit_zone`: every `interval_ms` the node's leader pushes the
// requests each key was granted here since the last push, and Redis answers with the fleet's
// level of that key's bucket, which becomes the local level. Decisions stay local and never
// wait; the fleet converges within an interval. Keys that only got refused are not pushed:
// an attacker over the limit costs Redis nothing.
class LimitSync {
 public:
  LimitSync(std::string zone, int64_t rate, int64_t interval_ms, RateLimiter* limiter,
            AsyncRedis* redis, RedisSchema schema, int32_t pid, Clock clock);

  void Tick();
  uint64_t pushes() const { return pushes_; }

  static constexpr size_t kMaxKeysPerPush = 500;

 private:
  std::string zone_;
  int64_t rate_;
  int64_t interval_ms_;
  RateLimiter* limiter_;
  AsyncRedis* redis_;
  RedisSchema schema_;
  int32_t pid_;
  Clock clock_;
  int64_t next_push_ms_ = 0;
  bool in_flight_ = false;
  uint64_t pushes_ = 0;
};

// "rl:<zone>:<hex of the stored key>": binary keys ($binary_remote_addr) stay readable.
std::string LimitBucketKey(const RedisSchema& schema, const std::string& zone,
                           const std::string& stored_key);

}  // namespace warden
