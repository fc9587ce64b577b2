// TimeZone against known transitions and against glibc's localtime_r over many instants.
#include "scheduler/time_zone.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <random>

namespace warden {
namespace {

int64_t At(int64_t y, unsigned mo, unsigned d, int h, int mi = 0, int s = 0) {
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

std::shared_ptr<const TimeZone> Zone(const char* name) {
  std::string error;
  auto zone = TimeZone::Load(name, &error);
  EXPECT_NE(zone, nullptr) << error;
  return zone;
}

TEST(Civil, RoundTripsAndWeekdays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(WeekdayFromDays(0), 4u);  // a Thursday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2024, 3, 10)), 0u);
  EXPECT_EQ(WeekdayFromDays(-1), 3u);
  for (int64_t days = -800000; days < 800000; days += 997) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, &y, &m, &d);
    EXPECT_EQ(DaysFromCivil(y, m, d), days);
  }
  EXPECT_EQ(DaysInMonth(2024, 2), 29u);
  EXPECT_EQ(DaysInMonth(1900, 2), 28u);
  EXPECT_EQ(DaysInMonth(2000, 2), 29u);
}

TEST(TimeZone, UtcIsFixed) {
  auto utc = TimeZone::Utc();
  EXPECT_TRUE(utc->is_utc());
  EXPECT_EQ(utc->OffsetAt(At(2024, 6, 1, 0)), 0);
  EXPECT_FALSE(utc->NextTransition(0).has_value());
  EXPECT_EQ(Zone("UTC"), utc);
  EXPECT_EQ(Zone("Etc/UTC"), utc);
}

TEST(TimeZone, NewYorkTransitions2024) {
  auto ny = Zone("America/New_York");
  EXPECT_EQ(ny->OffsetAt(At(2024, 1, 15, 12)), -5 * 3600);
  EXPECT_EQ(ny->OffsetAt(At(2024, 7, 15, 12)), -4 * 3600);
  auto spring = ny->NextTransition(At(2024, 1, 1, 0));
  ASSERT_TRUE(spring);
  EXPECT_EQ(spring->at, At(2024, 3, 10, 7));  // 02:00 EST
  EXPECT_EQ(spring->offset_before, -5 * 3600);
  EXPECT_EQ(spring->offset_after, -4 * 3600);
  auto fall = ny->NextTransition(spring->at);
  ASSERT_TRUE(fall);
  EXPECT_EQ(fall->at, At(2024, 11, 3, 6));  // 02:00 EDT
  EXPECT_EQ(ny->OffsetAt(fall->at - 1), -4 * 3600);
  EXPECT_EQ(ny->OffsetAt(fall->at), -5 * 3600);
  auto prev = ny->PrevTransition(At(2024, 12, 1, 0));
  ASSERT_TRUE(prev);
  EXPECT_EQ(prev->at, fall->at);
  EXPECT_EQ(ny->PrevTransition(fall->at)->at, fall->at);
  EXPECT_EQ(ny->PrevTransition(fall->at - 1)->at, spring->at);
}

TEST(TimeZone, BerlinTransitions2024And2040) {
  auto berlin = Zone("Europe/Berlin");
  EXPECT_EQ(berlin->NextTransition(At(2024, 1, 1, 0))->at, At(2024, 3, 31, 1));
  EXPECT_EQ(berlin->NextTransition(At(2024, 4, 1, 0))->at, At(2024, 10, 27, 1));
  // Far beyond the file's table: from the footer's rule.
  EXPECT_EQ(berlin->NextTransition(At(2040, 1, 1, 0))->at, At(2040, 3, 25, 1));
  EXPECT_EQ(berlin->OffsetAt(At(2040, 7, 1, 0)), 7200);
}

TEST(TimeZone, RejectsBadNames) {
  std::string error;
  EXPECT_EQ(TimeZone::Load("../../etc/passwd", &error), nullptr);
  EXPECT_NE(error.find("bad time zone"), std::string::npos);
  EXPECT_EQ(TimeZone::Load("/etc/localtime", &error), nullptr);
  EXPECT_EQ(TimeZone::Load("Mars/Olympus_Mons", &error), nullptr);
  EXPECT_NE(error.find("unknown time zone"), std::string::npos) << error;
  EXPECT_EQ(TimeZone::FromTzif("x", "not a tzif file", &error), nullptr);
  EXPECT_EQ(TimeZone::FromTzif("x", "TZif2", &error), nullptr);
}

TEST(TimeZone, PosixRules) {
  std::string error;
  auto sydney = TimeZone::FromPosixRule("syd", "AEST-10AEDT,M10.1.0,M4.1.0/3", &error);
  ASSERT_NE(sydney, nullptr) << error;
  EXPECT_EQ(sydney->OffsetAt(At(2024, 1, 15, 0)), 11 * 3600);
  EXPECT_EQ(sydney->OffsetAt(At(2024, 7, 15, 0)), 10 * 3600);
  // 2024-04-07 03:00 AEDT = 2024-04-06 16:00Z.
  EXPECT_EQ(sydney->NextTransition(At(2024, 2, 1, 0))->at, At(2024, 4, 6, 16));
  auto fixed = TimeZone::FromPosixRule("x", "<+0530>-5:30", &error);
  ASSERT_NE(fixed, nullptr) << error;
  EXPECT_EQ(fixed->OffsetAt(0), 5 * 3600 + 1800);
  EXPECT_EQ(TimeZone::FromPosixRule("x", "EST5EDT,M13.1.0,M11.1.0", &error), nullptr);
  EXPECT_EQ(TimeZone::FromPosixRule("x", "E5", &error), nullptr);
}

// The same answers as the C library, which reads the same files, over 1900-2100.
TEST(TimeZone, AgreesWithLocaltime) {
  const char* zones[] = {"America/New_York",    "Europe/Berlin",     "Australia/Sydney",
                         "Australia/Lord_Howe", "Asia/Kolkata",      "America/Sao_Paulo",
                         "Europe/Dublin",       "Africa/Casablanca", "Pacific/Chatham",
                         "America/Santiago",    "Asia/Tehran",       "Europe/London"};
  const char* old_tz = std::getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> when(At(1901, 1, 1, 0), At(2099, 12, 31, 0));
  for (const char* name : zones) {
    auto zone = Zone(name);
    ASSERT_NE(zone, nullptr);
    setenv("TZ", name, 1);
    tzset();
    auto check = [&](int64_t t) {
      time_t tt = static_cast<time_t>(t);
      tm local{};
      localtime_r(&tt, &local);
      ASSERT_EQ(zone->OffsetAt(t), local.tm_gmtoff) << name << " at " << t;
    };
    for (int i = 0; i < 3000; ++i) check(when(rng));
    // Around every transition between 2000 and 2060.
    int64_t t = At(2000, 1, 1, 0);
    for (int i = 0; i < 200; ++i) {
      auto next = zone->NextTransition(t);
      if (!next || next->at > At(2060, 1, 1, 0)) break;
      check(next->at - 1);
      check(next->at);
      EXPECT_EQ(zone->PrevTransition(next->at)->at, next->at) << name;
      t = next->at;
    }
  }
  if (old_tz) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

}  // namespace
}  // namespace warden
