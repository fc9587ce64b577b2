#include "core/limit_sync.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <vector>

namespace warden {

std::string LimitBucketKey(const RedisSchema& schema, const std::string& zone,
                           const std::string& stored_key) {
  return schema.LimitBucket(zone, stored_key);
}

LimitSync::LimitSync(std::string zone, int64_t rate, int64_t interval_ms, RateLimiter* limiter,
                     AsyncRedis* redis, RedisSchema schema, int32_t pid, Clock clock)
    : zone_(std::move(zone)),
      rate_(rate),
      interval_ms_(interval_ms),
      limiter_(limiter),
      redis_(redis),
      schema_(std::move(schema)),
      pid_(pid),
      clock_(std::move(clock)) {}

void LimitSync::Tick() {
  int64_t now = clock_();
  if (in_flight_ || now < next_push_ms_ || !redis_->connected()) return;
  next_push_ms_ = now + interval_ms_;
  auto counts = std::make_shared<std::vector<RateLimiter::Count>>(
      limiter_->TakeCounts(kMaxKeysPerPush, pid_));
  if (counts->empty()) return;

  std::vector<std::string> args = {"EVAL", RedisSchema::kLimitSyncScript,
                                   std::to_string(counts->size())};
  for (auto& c : *counts) args.push_back(LimitBucketKey(schema_, zone_, c.key));
  args.push_back(std::to_string(rate_));
  args.push_back(std::to_string(interval_ms_));
  for (auto& c : *counts) args.push_back(std::to_string(c.accepted));

  in_flight_ = true;
  bool sent = redis_->Send(args, redis_->endpoint().timeout_ms, [this, counts](redisReply* r) {
    in_flight_ = false;
    if (!r) return;  // lost with the connection: the fleet undercounts one interval
    if (r->type != REDIS_REPLY_ARRAY || r->elements != counts->size()) {
      redis_->Log(LogLevel::kWarn, "unexpected reply to the limit sync of zone " + zone_);
      return;
    }
    redis_->MarkHealthy();
    int64_t at = clock_();
    for (size_t i = 0; i < r->elements; ++i) {
      if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0 ||
          r->element[i]->integer > LeakyBucket::kMaxLevel) {
        continue;  // malformed: this key keeps its local level
      }
      limiter_->SetFleetLevel((*counts)[i].key, r->element[i]->integer, at, pid_);
    }
    ++pushes_;
  });
  if (!sent) in_flight_ = false;
}

}  // namespace warden
