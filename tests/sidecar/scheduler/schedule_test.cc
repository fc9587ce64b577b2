// Schedule: next fire times for cron (with seconds, in time zones, across DST changes),
// @every and the macros.
#include "scheduler/schedule.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

// Unix milliseconds of a UTC date and time.
int64_t Z(int64_t y, unsigned mo, unsigned d, int h, int mi = 0, int s = 0, int ms = 0) {
  return (DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms;
}

Schedule Sched(const char* text, const char* zone = "UTC") {
  std::string error;
  auto tz = TimeZone::Load(zone, &error);
  EXPECT_NE(tz, nullptr) << error;
  auto schedule = Schedule::Parse(text, tz, &error);
  EXPECT_TRUE(schedule) << text << ": " << error;
  return *schedule;
}

// The next `n` fire times after `from`.
std::vector<int64_t> Fires(const Schedule& s, int64_t from, int n) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    auto next = s.Next(from);
    if (!next) break;
    out.push_back(*next);
    from = *next;
  }
  return out;
}

std::string ParseError(const char* text) {
  std::string error;
  EXPECT_FALSE(Schedule::Parse(text, nullptr, &error)) << text;
  return error;
}

TEST(Schedule, CronInUtcIsStrictlyAfter) {
  Schedule s = Sched("*/15 * * * *");
  EXPECT_EQ(s.Next(Z(2024, 5, 1, 12, 0)), Z(2024, 5, 1, 12, 15));
  EXPECT_EQ(s.Next(Z(2024, 5, 1, 12, 0, 0, 999)), Z(2024, 5, 1, 12, 15));
  EXPECT_EQ(s.Next(Z(2024, 5, 1, 11, 59, 59, 999)), Z(2024, 5, 1, 12, 0));
}

TEST(Schedule, SecondsField) {
  Schedule s = Sched("*/2 * * * * *");
  EXPECT_EQ(Fires(s, Z(2024, 5, 1, 12, 0, 58, 500), 3),
            (std::vector<int64_t>{Z(2024, 5, 1, 12, 1, 0), Z(2024, 5, 1, 12, 1, 2),
                                  Z(2024, 5, 1, 12, 1, 4)}));
}

TEST(Schedule, EveryIsAlignedToTheEpochAndNeverDrifts) {
  Schedule s = Sched("@every 500ms");
  EXPECT_EQ(s.interval_ms(), 500);
  EXPECT_EQ(s.Next(1000), 1500);
  EXPECT_EQ(s.Next(1499), 1500);
  EXPECT_EQ(s.Next(1500), 2000);
  EXPECT_EQ(Sched("@every 1m30s").Next(0), 90000);
  EXPECT_EQ(Sched("@every 1m30s").Next(90001), 180000);
  // However late the caller asks, the answer stays on the grid.
  Schedule tenth = Sched("@every 100ms");
  int64_t t = Z(2024, 5, 1, 0);
  for (int i = 0; i < 1000; ++i) {
    int64_t next = *tenth.Next(t + 37);  // as if every run ended 37 ms late
    EXPECT_EQ(next % 100, 0);
    t = next;
  }
  EXPECT_EQ(t, Z(2024, 5, 1, 0) + 1000 * 100);
}

TEST(Schedule, Macros) {
  EXPECT_EQ(Sched("@hourly").Next(Z(2024, 5, 1, 12, 0)), Z(2024, 5, 1, 13, 0));
  EXPECT_EQ(Sched("@daily").Next(Z(2024, 5, 1, 12, 0)), Z(2024, 5, 2, 0));
  EXPECT_EQ(Sched("@midnight").Next(Z(2024, 5, 1, 12, 0)), Z(2024, 5, 2, 0));
  EXPECT_EQ(Sched("@weekly").Next(Z(2024, 5, 1, 12, 0)), Z(2024, 5, 5, 0));  // Sunday
  EXPECT_EQ(Sched("@monthly").Next(Z(2024, 5, 1, 12, 0)), Z(2024, 6, 1, 0));
  EXPECT_EQ(Sched("@yearly").Next(Z(2024, 5, 1, 12, 0)), Z(2025, 1, 1, 0));
  EXPECT_EQ(Sched("@annually").Next(Z(2024, 5, 1, 12, 0)), Z(2025, 1, 1, 0));
  // Local midnight in Berlin (CEST, UTC+2) is 22:00Z the day before.
  EXPECT_EQ(Sched("@daily", "Europe/Berlin").Next(Z(2024, 5, 1, 12, 0)), Z(2024, 5, 1, 22, 0));
}

TEST(Schedule, NeverFiring) {
  EXPECT_FALSE(Sched("0 0 30 2 *").Next(Z(2024, 1, 1, 0)).has_value());
  EXPECT_FALSE(Sched("0 0 31 4,6,9,11 *").Next(Z(2024, 1, 1, 0)).has_value());
}

TEST(Schedule, Errors) {
  EXPECT_NE(ParseError("61 * * * *").find("bad cron expression \"61 * * * *\": minute: 61"),
            std::string::npos);
  EXPECT_NE(ParseError("@every").find("expected \"@every DURATION\""), std::string::npos);
  EXPECT_NE(ParseError("@every 5ms").find("at least 10ms"), std::string::npos);
  EXPECT_NE(ParseError("@every soon").find("bad duration"), std::string::npos);
  EXPECT_NE(ParseError("@fortnightly").find("unknown macro"), std::string::npos);
  EXPECT_NE(ParseError("@everyday").find("@every DURATION"), std::string::npos);
}

// America/New_York, 2024: 02:00 EST -> 03:00 EDT on March 10 (07:00Z);
// 02:00 EDT -> 01:00 EST on November 3 (06:00Z).
TEST(Schedule, NewYorkSpringForwardNamedTimeRunsOnceAtTheChange) {
  Schedule s = Sched("30 2 * * *", "America/New_York");
  EXPECT_EQ(Fires(s, Z(2024, 3, 8, 12), 4),
            (std::vector<int64_t>{Z(2024, 3, 9, 7, 30),   // 02:30 EST
                                  Z(2024, 3, 10, 7, 0),   // 02:30 missing: 03:00 EDT
                                  Z(2024, 3, 11, 6, 30),  // 02:30 EDT
                                  Z(2024, 3, 12, 6, 30)}));
  // Two names in the gap still run once, and 03:30 runs as usual.
  Schedule both = Sched("0,30 2-3 * * *", "America/New_York");
  EXPECT_EQ(
      Fires(both, Z(2024, 3, 10, 6, 0), 3),
      (std::vector<int64_t>{Z(2024, 3, 10, 7, 0), Z(2024, 3, 10, 7, 30), Z(2024, 3, 11, 6, 0)}));
}

TEST(Schedule, NewYorkFallBackNamedTimeRunsOnceAtFirstOccurrence) {
  Schedule s = Sched("30 1 * * *", "America/New_York");
  EXPECT_EQ(Fires(s, Z(2024, 11, 2, 12), 2),
            (std::vector<int64_t>{Z(2024, 11, 3, 5, 30),     // 01:30 EDT
                                  Z(2024, 11, 4, 6, 30)}));  // next day 01:30 EST
  // Asked from inside the repeated hour: the second 01:xx does not run.
  Schedule minutes = Sched("*/20 1 * * *", "America/New_York");
  EXPECT_EQ(Fires(minutes, Z(2024, 11, 3, 4, 59), 4),
            (std::vector<int64_t>{Z(2024, 11, 3, 5, 0), Z(2024, 11, 3, 5, 20),
                                  Z(2024, 11, 3, 5, 40), Z(2024, 11, 4, 6, 0)}));
  EXPECT_EQ(minutes.Next(Z(2024, 11, 3, 6, 10)), Z(2024, 11, 4, 6, 0));
}

TEST(Schedule, NewYorkEveryHourFollowsElapsedTime) {
  Schedule hourly = Sched("0 * * * *", "America/New_York");
  EXPECT_EQ(Fires(hourly, Z(2024, 11, 3, 4, 30), 3),
            (std::vector<int64_t>{Z(2024, 11, 3, 5), Z(2024, 11, 3, 6), Z(2024, 11, 3, 7)}));
  Schedule half = Sched("*/30 * * * *", "America/New_York");
  EXPECT_EQ(Fires(half, Z(2024, 3, 10, 6, 0), 4),
            (std::vector<int64_t>{Z(2024, 3, 10, 6, 30), Z(2024, 3, 10, 7, 0),
                                  Z(2024, 3, 10, 7, 30), Z(2024, 3, 10, 8, 0)}));
  // Every 10 seconds through the fall-back: no gap, no hour-long pause.
  Schedule fast = Sched("*/10 * * * * *", "America/New_York");
  int64_t t = Z(2024, 11, 3, 5, 59, 30);
  for (int i = 0; i < 12; ++i) {
    int64_t next = *fast.Next(t);
    EXPECT_EQ(next - t, i == 0 ? 10000 : 10000) << i;
    t = next;
  }
}

// Europe/Berlin, 2024: 02:00 CET -> 03:00 CEST on March 31 (01:00Z);
// 03:00 CEST -> 02:00 CET on October 27 (01:00Z).
TEST(Schedule, BerlinBothChanges) {
  Schedule s = Sched("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(Fires(s, Z(2024, 3, 30, 12), 2),
            (std::vector<int64_t>{Z(2024, 3, 31, 1, 0),     // at the change, 03:00 CEST
                                  Z(2024, 4, 1, 0, 30)}));  // 02:30 CEST
  EXPECT_EQ(Fires(s, Z(2024, 10, 26, 12), 2),
            (std::vector<int64_t>{Z(2024, 10, 27, 0, 30),     // 02:30 CEST, first occurrence
                                  Z(2024, 10, 28, 1, 30)}));  // 02:30 CET
  Schedule six = Sched("0 0 6 * * MON-FRI", "Europe/Berlin");
  EXPECT_EQ(six.Next(Z(2024, 3, 29, 12)), Z(2024, 4, 1, 4, 0));  // Monday 06:00 CEST
}

TEST(Schedule, ZonesFarBeyondTheTable) {
  // 2090: the footer rule alone decides.
  Schedule s = Sched("30 2 * * *", "America/New_York");
  int64_t dst_start = Z(2090, 3, 12, 7);  // second Sunday of March 2090 is the 12th
  EXPECT_EQ(s.Next(dst_start - 3600 * 1000), dst_start);
}

}  // namespace
}  // namespace warden
