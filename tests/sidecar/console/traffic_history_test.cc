// TrafficHistory: per-second traffic from the growth of per-minute totals.
#include "console/traffic_history.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(TrafficHistoryTest, FirstSampleIsTheBaseline) {
  TrafficHistory h;
  h.Add(120'000, {{1, 50, 5}, {2, 10, 0}});
  EXPECT_EQ(h.Latest().requests, 0);
  h.Add(121'000, {{1, 50, 5}, {2, 17, 2}});
  EXPECT_EQ(h.Latest().minute, 121);
  EXPECT_EQ(h.Latest().requests, 7);
  EXPECT_EQ(h.Latest().refused, 2);
  EXPECT_EQ(h.At(120).requests, 0);
}

TEST(TrafficHistoryTest, GrowthAcrossAMinuteBoundaryIsCountedOnce) {
  TrafficHistory h;
  h.Add(179'000, {{1, 0, 0}, {2, 100, 0}});
  // The minute turns: minute 2 still grows (a late flush), minute 3 starts.
  h.Add(180'000, {{2, 104, 1}, {3, 6, 0}});
  h.Add(181'000, {{2, 104, 1}, {3, 9, 0}});
  EXPECT_EQ(h.At(180).requests, 10);
  EXPECT_EQ(h.At(180).refused, 1);
  EXPECT_EQ(h.At(181).requests, 3);
  // Two samples in one second add up.
  h.Add(181'600, {{2, 104, 1}, {3, 11, 0}});
  EXPECT_EQ(h.At(181).requests, 5);
}

TEST(TrafficHistoryTest, ForgetsSecondsOlderThanItKeepsAndNeverGoesNegative) {
  TrafficHistory h;
  h.Add(0, {{0, 0, 0}});
  for (int64_t s = 1; s <= 1000; ++s) h.Add(s * 1000, {{0, s, 0}});
  EXPECT_EQ(h.At(1000).requests, 1);
  EXPECT_EQ(h.At(1000 - TrafficHistory::kSeconds + 1).requests, 1);
  EXPECT_EQ(h.At(1000 - TrafficHistory::kSeconds).requests, 0);  // overwritten
  // A counter that went backwards (Redis flushed) adds nothing rather than a negative.
  h.Add(1'001'000, {{0, 3, 0}});
  EXPECT_EQ(h.At(1001).requests, 0);
}

// A minute with the nodes' decisions: pass, blacklist, country, autoban, limited, challenge,
// dry_run, then 4xx and 5xx.
TrafficReport::Minute Detailed(int64_t step, int64_t requests, int64_t refused,
                               std::array<int64_t, TrafficReport::kSeries> series) {
  TrafficReport::Minute m{step, requests, refused, true};
  m.series = series;
  return m;
}

TEST(TrafficHistoryTest, EveryDecisionGrowsPerSecond) {
  TrafficHistory h;
  h.Add(60'000, {Detailed(1, 10, 2, {8, 1, 0, 0, 1, 0, 0, 2, 0})});
  h.Add(61'000, {Detailed(1, 25, 9, {16, 3, 1, 1, 4, 0, 0, 9, 1})});
  TrafficReport::Minute s = h.At(61);
  EXPECT_TRUE(s.detailed);
  EXPECT_EQ(s.requests, 15);
  EXPECT_EQ(s.refused, 7);
  EXPECT_EQ(s.series, (std::array<int64_t, TrafficReport::kSeries>{8, 2, 1, 1, 3, 0, 0, 7, 1}));
}

TEST(TrafficHistoryTest, SeriesJsonNamesEachDecision) {
  auto s = TrafficHistory::SeriesJson(1000, 5000,
                                      {Detailed(5, 12, 6, {5, 2, 1, 1, 2, 1, 0, 6, 1}), {6, 0, 0}});
  EXPECT_EQ(s["step_ms"], 1000);
  EXPECT_EQ(s["start_ms"], 5000);
  EXPECT_EQ(s["decisions"], nlohmann::json({"pass", "blacklist", "country", "autoban", "limited",
                                            "challenge", "dry_run", "other"}));
  EXPECT_EQ(s["lines"], nlohmann::json({"4xx", "5xx"}));
  EXPECT_EQ(s["pass"], nlohmann::json({5, 0}));
  EXPECT_EQ(s["blacklist"], nlohmann::json({2, 0}));
  EXPECT_EQ(s["country"], nlohmann::json({1, 0}));
  EXPECT_EQ(s["autoban"], nlohmann::json({1, 0}));
  EXPECT_EQ(s["limited"], nlohmann::json({2, 0}));
  EXPECT_EQ(s["challenge"], nlohmann::json({1, 0}));
  EXPECT_EQ(s["dry_run"], nlohmann::json({0, 0}));
  EXPECT_EQ(s["other"], nlohmann::json({0, 0}));
  EXPECT_EQ(s["4xx"], nlohmann::json({6, 0}));
  EXPECT_EQ(s["5xx"], nlohmann::json({1, 0}));
  EXPECT_EQ(s["requests"], nlohmann::json({12, 0}));
  EXPECT_EQ(s["refused"], nlohmann::json({6, 0}));
}

// Points from before the breakdown (or nodes that do not send it): what passed is the
// requests not refused, and the refusals are "other".
TEST(TrafficHistoryTest, SeriesJsonReadsPointsWithoutDecisions) {
  auto s = TrafficHistory::SeriesJson(60000, 0, {{0, 4, 1}});
  EXPECT_EQ(s["pass"], nlohmann::json({3}));
  EXPECT_EQ(s["other"], nlohmann::json({1}));
  EXPECT_EQ(s["blacklist"], nlohmann::json({0}));
  EXPECT_EQ(s["refused"], nlohmann::json({1}));
}

}  // namespace
}  // namespace warden
