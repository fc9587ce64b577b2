#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "traffic/traffic_report.h"

namespace warden {

// The fleet's traffic per second for the last 15 minutes, sampled by the daemon once a second
// from the per-minute totals the nginx nodes flush to Redis: each sample's growth of the
// current and the previous minute is put on the sample's second. Every sidecar samples the
// same Redis, so each shows the same fleet, give or take a second. Not thread-safe.
class TrafficHistory {
 public:
  static constexpr int64_t kSeconds = 900;

  // Records the totals of the minutes read at `now_ms` (at least the current one).
  void Add(int64_t now_ms, const std::vector<TrafficReport::Minute>& minutes);

  // The last `seconds` seconds up to the latest sample, as SeriesJson.
  nlohmann::json Json(int64_t seconds) const;
  // Requests and refusals of the last `seconds` seconds.
  TrafficReport::Minute Sum(int64_t seconds) const;

  // One shape for every series the console draws, so more decisions slot in later:
  // {"step_ms", "start_ms", "decisions": ["pass", "refused"], "pass": [...], "refused": [...]}
  // where pass = requests - refused.
  static nlohmann::json SeriesJson(int64_t step_ms, int64_t start_ms,
                                   const std::vector<TrafficReport::Minute>& points);

 private:
  struct Slot {
    int64_t second = -1;
    int64_t requests = 0;
    int64_t refused = 0;
  };
  std::map<int64_t, TrafficReport::Minute> last_;  // by minute, the previous sample's totals
  bool primed_ = false;
  int64_t latest_second_ = 0;
  std::array<Slot, kSeconds> slots_{};
};

}  // namespace warden
