// TrafficHistory: per-second traffic from the growth of per-minute totals.
#include "console/traffic_history.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

using Minute = TrafficReport::Minute;

int64_t Total(const nlohmann::json& series, const char* key) {
  int64_t sum = 0;
  for (const auto& v : series[key]) sum += v.get<int64_t>();
  return sum;
}

TEST(TrafficHistoryTest, FirstSampleIsTheBaseline) {
  TrafficHistory h;
  h.Add(120'000, {{1, 50, 5}, {2, 10, 0}});
  EXPECT_EQ(h.Sum(60).requests, 0);
  h.Add(121'000, {{1, 50, 5}, {2, 17, 2}});
  auto s = h.Json(3);
  EXPECT_EQ(s["step_ms"], 1000);
  EXPECT_EQ(s["start_ms"], 119'000);
  EXPECT_EQ(s["pass"], nlohmann::json({0, 0, 5}));
  EXPECT_EQ(s["refused"], nlohmann::json({0, 0, 2}));
  EXPECT_EQ(s["decisions"], nlohmann::json({"pass", "refused"}));
}

TEST(TrafficHistoryTest, GrowthAcrossAMinuteBoundaryIsCountedOnce) {
  TrafficHistory h;
  h.Add(179'000, {{1, 0, 0}, {2, 100, 0}});
  // The minute turns: minute 2 still grows (a late flush), minute 3 starts.
  h.Add(180'000, {{2, 104, 1}, {3, 6, 0}});
  h.Add(181'000, {{2, 104, 1}, {3, 9, 0}});
  EXPECT_EQ(h.Sum(60).requests, 10 + 3);
  EXPECT_EQ(h.Sum(60).refused, 1);
  auto s = h.Json(2);
  EXPECT_EQ(s["pass"], nlohmann::json({9, 3}));
  EXPECT_EQ(Total(h.Json(900), "pass") + Total(h.Json(900), "refused"), 13);
}

TEST(TrafficHistoryTest, KeepsFifteenMinutesAndForgetsOlderSeconds) {
  TrafficHistory h;
  h.Add(0, {{0, 0, 0}});
  int64_t total = 0;
  for (int64_t s = 1; s <= 1000; ++s) {
    total += 1;
    h.Add(s * 1000, {{0, total, 0}});  // one minute key is enough for the arithmetic
  }
  auto series = h.Json(TrafficHistory::kSeconds);
  EXPECT_EQ(series["pass"].size(), 900u);
  EXPECT_EQ(Total(series, "pass"), 900);
  EXPECT_EQ(series["start_ms"], (1000 - 899) * 1000);
  // A counter that went backwards (Redis flushed) adds nothing rather than a negative.
  h.Add(1'001'000, {{0, 3, 0}});
  EXPECT_EQ(h.Json(1)["pass"][0], 0);
}

}  // namespace
}  // namespace warden
