#include "console/traffic_history.h"

#include <algorithm>

namespace warden {

namespace {

// How much `now` grew since `before` (never less than nothing: a counter that went back, as
// after a flush of Redis, adds nothing).
int64_t Growth(int64_t now, int64_t before) { return std::max<int64_t>(0, now - before); }

}  // namespace

void TrafficHistory::Add(int64_t now_ms, const std::vector<TrafficReport::Minute>& minutes) {
  TrafficReport::Minute grown;
  std::map<int64_t, TrafficReport::Minute> next;
  for (const TrafficReport::Minute& m : minutes) {
    auto it = last_.find(m.minute);
    const TrafficReport::Minute before = it == last_.end() ? TrafficReport::Minute{} : it->second;
    grown.requests += Growth(m.requests, before.requests);
    grown.refused += Growth(m.refused, before.refused);
    for (size_t k = 0; k < TrafficReport::kSeries; ++k) {
      grown.series[k] += Growth(m.series[k], before.series[k]);
    }
    grown.detailed = grown.detailed || m.detailed;
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
  if (slot.second != second) slot = Slot{second, TrafficReport::Minute{second}};
  TrafficReport::Minute& p = slot.point;
  p.requests += grown.requests;
  p.refused += grown.refused;
  for (size_t k = 0; k < TrafficReport::kSeries; ++k) p.series[k] += grown.series[k];
  p.detailed = p.detailed || grown.detailed;
}

TrafficReport::Minute TrafficHistory::At(int64_t second) const {
  const Slot& slot = slots_[static_cast<size_t>(((second % kSeconds) + kSeconds) % kSeconds)];
  return slot.second == second ? slot.point : TrafficReport::Minute{second};
}

nlohmann::json TrafficHistory::SeriesJson(int64_t step_ms, int64_t start_ms,
                                          const std::vector<TrafficReport::Minute>& points) {
  constexpr size_t kDecisions = TrafficReport::kDecisionSeries;
  nlohmann::json decisions = nlohmann::json::array();
  for (size_t k = 0; k < kDecisions; ++k) decisions.push_back(TrafficReport::kSeriesNames[k]);
  decisions.push_back("other");
  nlohmann::json lines = nlohmann::json::array();
  for (size_t k = kDecisions; k < TrafficReport::kSeries; ++k) {
    lines.push_back(TrafficReport::kSeriesNames[k]);
  }
  nlohmann::json arrays[TrafficReport::kSeries + 1];
  nlohmann::json requests = nlohmann::json::array(), refused = nlohmann::json::array();
  for (auto& a : arrays) a = nlohmann::json::array();
  for (const TrafficReport::Minute& p : points) {
    requests.push_back(p.requests);
    refused.push_back(p.refused);
    int64_t attributed = 0;  // refusals with a cause
    for (size_t k = 0; k < TrafficReport::kSeries; ++k) {
      arrays[k].push_back(p.series[k]);
      if (k >= 1 && k <= 4) attributed += p.series[k];  // blacklist, country, autoban, limited
    }
    if (!p.detailed) arrays[0].back() = std::max<int64_t>(0, p.requests - p.refused);
    // (TrafficReport derived "pass" so: the stack adds up to the requests)
    arrays[TrafficReport::kSeries].push_back(std::max<int64_t>(0, p.refused - attributed));
  }
  nlohmann::json out = {{"step_ms", step_ms},
                        {"start_ms", start_ms},
                        {"decisions", std::move(decisions)},
                        {"lines", std::move(lines)},
                        {"requests", std::move(requests)},
                        {"refused", std::move(refused)},
                        {"other", std::move(arrays[TrafficReport::kSeries])}};
  for (size_t k = 0; k < TrafficReport::kSeries; ++k) {
    out[TrafficReport::kSeriesNames[k]] = std::move(arrays[k]);
  }
  return out;
}

}  // namespace warden
