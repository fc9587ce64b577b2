#include "console/traffic_history.h"

#include <algorithm>

namespace warden {

void TrafficHistory::Add(int64_t now_ms, const std::vector<TrafficReport::Minute>& minutes) {
  int64_t requests = 0;
  int64_t refused = 0;
  std::map<int64_t, TrafficReport::Minute> next;
  for (const TrafficReport::Minute& m : minutes) {
    auto it = last_.find(m.minute);
    const int64_t before_req = it == last_.end() ? 0 : it->second.requests;
    const int64_t before_ref = it == last_.end() ? 0 : it->second.refused;
    requests += std::max<int64_t>(0, m.requests - before_req);
    refused += std::max<int64_t>(0, m.refused - before_ref);
    next[m.minute] = m;
  }
  last_ = std::move(next);
  const int64_t second = now_ms / 1000;
  latest_second_ = std::max(latest_second_, second);
  if (!primed_) {  // the first sample only sets the baseline
    primed_ = true;
    return;
  }
  Slot& slot = slots_[static_cast<size_t>(second % kSeconds)];
  if (slot.second != second) slot = Slot{second, 0, 0};
  slot.requests += requests;
  slot.refused += refused;
}

TrafficReport::Minute TrafficHistory::At(int64_t second) const {
  const Slot& slot = slots_[static_cast<size_t>(((second % kSeconds) + kSeconds) % kSeconds)];
  return slot.second == second ? TrafficReport::Minute{second, slot.requests, slot.refused}
                               : TrafficReport::Minute{second, 0, 0};
}

nlohmann::json TrafficHistory::SeriesJson(int64_t step_ms, int64_t start_ms,
                                          const std::vector<TrafficReport::Minute>& points) {
  nlohmann::json pass = nlohmann::json::array();
  nlohmann::json refused = nlohmann::json::array();
  for (const TrafficReport::Minute& p : points) {
    pass.push_back(std::max<int64_t>(0, p.requests - p.refused));
    refused.push_back(p.refused);
  }
  return {{"step_ms", step_ms},
          {"start_ms", start_ms},
          {"decisions", {"pass", "refused"}},
          {"pass", std::move(pass)},
          {"refused", std::move(refused)}};
}

}  // namespace warden
