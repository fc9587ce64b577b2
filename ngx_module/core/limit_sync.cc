#include "core/limit_sync.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "common/cluster_slots.h"

namespace warden {

std::string LimitBucketKey(const RedisSchema& schema, const std::string& zone,
                           const std::string& stored_key) {
  return schema.LimitBucket(zone, stored_key);
}

LimitSync::LimitSync(std::string zone, int64_t rate, int64_t interval_ms, RateLimiter* limiter,
                     AsyncClient* redis, RedisSchema schema, int32_t pid, Clock clock)
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
  if (in_flight_ > 0 || now < next_push_ms_ || !redis_->connected()) return;
  next_push_ms_ = now + interval_ms_;
  auto counts = std::make_shared<std::vector<RateLimiter::Count>>(
      limiter_->TakeCounts(kMaxKeysPerPush, pid_));
  if (counts->empty()) return;

  // One script call for all the keys; in a cluster one per slot (per bucket group),
  // pipelined per node by the client.
  std::vector<std::string> keys;
  keys.reserve(counts->size());
  for (auto& c : *counts) keys.push_back(LimitBucketKey(schema_, zone_, c.key));
  std::vector<std::vector<size_t>> calls;
  if (schema_.cluster()) {
    std::unordered_map<int, size_t> call_of_slot;
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = call_of_slot.try_emplace(ClusterKeySlot(keys[i]), calls.size()).first;
      if (it->second == calls.size()) calls.emplace_back();
      calls[it->second].push_back(i);
    }
  } else {
    calls.emplace_back(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) calls[0][i] = i;
  }
  auto answered = std::make_shared<bool>(false);  // by any call of this push
  for (std::vector<size_t>& call : calls) {
    std::vector<std::string> args = {"EVAL", RedisSchema::kLimitSyncScript,
                                     std::to_string(call.size())};
    for (size_t i : call) args.push_back(keys[i]);
    args.push_back(std::to_string(rate_));
    args.push_back(std::to_string(interval_ms_));
    for (size_t i : call) args.push_back(std::to_string((*counts)[i].accepted));
    auto which = std::make_shared<std::vector<size_t>>(std::move(call));
    ++in_flight_;
    bool sent = redis_->Send(args, redis_->endpoint().timeout_ms,
                             [this, counts, which, answered](redisReply* r) {
                               --in_flight_;
                               OnLevels(r, *counts, *which, answered.get());
                             });
    if (!sent) --in_flight_;  // lost: the fleet undercounts these keys one interval
  }
}

void LimitSync::OnLevels(redisReply* r, const std::vector<RateLimiter::Count>& counts,
                         const std::vector<size_t>& which, bool* answered) {
  if (!r) return;  // lost with the connection: the fleet undercounts one interval
  if (r->type != REDIS_REPLY_ARRAY || r->elements != which.size()) {
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
    limiter_->SetFleetLevel(counts[which[i]].key, r->element[i]->integer, at, pid_);
  }
  if (!*answered) ++pushes_;  // one push, however many calls it took
  *answered = true;
}

}  // namespace warden
