#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/redis_schema.h"
#include "core/async_client.h"
#include "core/rate_limiter.h"

namespace warden {

// The interval mode of a `warden_limit_zone`: every `interval_ms` the node's leader pushes the
// requests each key was granted here since the last push, and Redis answers with the fleet's
// level of that key's bucket, which becomes the local level. Decisions stay local and never
// wait; the fleet converges within an interval. Keys that only got refused are not pushed:
// an attacker over the limit costs Redis nothing. In a Redis Cluster a push is one
// call per slot of its buckets.
class LimitSync {
 public:
  LimitSync(std::string zone, int64_t rate, int64_t interval_ms, RateLimiter* limiter,
            AsyncClient* redis, RedisSchema schema, int32_t pid, Clock clock);

  void Tick();
  uint64_t pushes() const { return pushes_; }

  static constexpr size_t kMaxKeysPerPush = 500;

 private:
  // The levels Redis answered for counts[which[i]], i = 0, 1, ...
  void OnLevels(redisReply* reply, const std::vector<RateLimiter::Count>& counts,
                const std::vector<size_t>& which, bool* answered);

  std::string zone_;
  int64_t rate_;
  int64_t interval_ms_;
  RateLimiter* limiter_;
  AsyncClient* redis_;
  RedisSchema schema_;
  int32_t pid_;
  Clock clock_;
  int64_t next_push_ms_ = 0;
  int in_flight_ = 0;  // script calls of the last push not answered yet
  uint64_t pushes_ = 0;
};

// "rl:<zone>:<hex of the stored key>": binary keys ($binary_remote_addr) stay readable.
std::string LimitBucketKey(const RedisSchema& schema, const std::string& zone,
                           const std::string& stored_key);

}  // namespace warden
