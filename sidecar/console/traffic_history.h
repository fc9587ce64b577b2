#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "traffic/traffic_report.h"

namespace warden {

// The fleet's traffic per second, sampled by the console once a second from the per-minute
// totals the nginx nodes flush to Redis: each sample's growth of the current and the previous
// minute is put on the sample's second. The writer of the fleet's series (TrafficSeries)
// stores these points in Redis. Not thread-safe.
class TrafficHistory {
 public:
  static constexpr int64_t kSeconds = 900;

  // Records the totals of the minutes read at `now_ms` (at least the current one).
  void Add(int64_t now_ms, const std::vector<TrafficReport::Minute>& minutes);

  // The point of `second` (Unix seconds; `minute` holds the second): zeros when it is not
  // among the last kSeconds or nothing grew then. Latest(): the latest sample's second.
  TrafficReport::Minute At(int64_t second) const;
  TrafficReport::Minute Latest() const { return At(latest_second_); }

  // One shape for every series the console draws: {"step_ms", "start_ms", "decisions":
  // [names], "lines": ["4xx", "5xx"], one array per name, "requests": [...], "refused": [...]}.
  // The decisions stack up to the requests: TrafficReport::kSeriesNames' decisions, then
  // "other": refusals whose cause no node sent (points from before the breakdown, where
  // "pass" is requests - refused).
  static nlohmann::json SeriesJson(int64_t step_ms, int64_t start_ms,
                                   const std::vector<TrafficReport::Minute>& points);

 private:
  struct Slot {
    int64_t second = -1;
    TrafficReport::Minute point;
  };
  std::map<int64_t, TrafficReport::Minute> last_;  // by minute, the previous sample's totals
  bool primed_ = false;
  int64_t latest_second_ = 0;
  std::array<Slot, kSeconds> slots_{};
};

}  // namespace warden
