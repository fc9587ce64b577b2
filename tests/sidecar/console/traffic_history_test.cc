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

TEST(TrafficHistoryTest, SeriesJsonNamesEachDecision) {
  auto s = TrafficHistory::SeriesJson(1000, 5000, {{5, 4, 1}, {6, 0, 0}});
  EXPECT_EQ(s["step_ms"], 1000);
  EXPECT_EQ(s["start_ms"], 5000);
  EXPECT_EQ(s["decisions"], nlohmann::json({"pass", "refused"}));
  EXPECT_EQ(s["pass"], nlohmann::json({3, 0}));
  EXPECT_EQ(s["refused"], nlohmann::json({1, 0}));
}

}  // namespace
}  // namespace warden
