#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_script.h"
#include "traffic/traffic_report.h"

namespace warden {

// The console's time series, kept in Redis so that every sidecar shows the same fleet view:
// requests, refusals, decisions and 4xx/5xx per second for 15 minutes (`ts:s`) and per minute
// for 24 hours (`ts:m`), sorted sets of "<step>:<requests>:<refused>:<the kSeries values>"
// scored by the step (points written before the breakdown have the first three only, and
// are read as such). One sidecar at a
// time writes them, the holder of a short lease (`ts:writer`); when it stops, another takes over
// within kLeaseMs. Points use Redis's clock (Unix seconds, Unix minutes).
class TrafficSeries {
 public:
  static constexpr int64_t kSecondsKept = 900;
  static constexpr int64_t kMinutesKept = 1440;
  static constexpr int64_t kLeaseMs = 3000;

  TrafficSeries(RedisConnection& conn, RedisSchema schema);

  // If `node` holds or can take the writer's lease: stores `second`'s point and the totals of
  // `minutes` (each replaces what that step had), drops what is older than kept, and returns
  // true. Otherwise changes nothing and returns false.
  bool Record(const std::string& node, const TrafficReport::Minute& second,
              const std::vector<TrafficReport::Minute>& minutes);

  // `count` steps ending at `last` (Unix seconds, or minutes), oldest first; 0 where none.
  std::vector<TrafficReport::Minute> Seconds(int64_t last, int64_t count);
  std::vector<TrafficReport::Minute> Minutes(int64_t last, int64_t count);

 private:
  std::vector<TrafficReport::Minute> Range(const std::string& key, int64_t last, int64_t count);

  RedisConnection& conn_;
  RedisSchema schema_;
  RedisScript record_script_;
};

}  // namespace warden
