// CronExpression: parsing and matching on wall-clock seconds.
#include "scheduler/cron_expression.h"

#include <gtest/gtest.h>

#include "scheduler/time_zone.h"

namespace warden {
namespace {

int64_t L(int64_t y, unsigned mo, unsigned d, int h, int mi = 0, int s = 0) {
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

CronExpression Cron(const char* text) {
  std::string error;
  auto cron = CronExpression::Parse(text, &error);
  EXPECT_TRUE(cron) << text << ": " << error;
  return cron ? *cron : *CronExpression::Parse("* * * * *", &error);
}

int64_t Next(const char* text, int64_t from) {
  auto next = Cron(text).NextMatch(from, from + int64_t{6} * 366 * 86400);
  EXPECT_TRUE(next) << text;
  return next.value_or(-1);
}

std::string ParseError(const char* text) {
  std::string error;
  EXPECT_FALSE(CronExpression::Parse(text, &error)) << text;
  return error;
}

TEST(CronExpression, FiveFieldsFireAtSecondZero) {
  EXPECT_EQ(Next("* * * * *", L(2024, 5, 1, 12, 0, 1)), L(2024, 5, 1, 12, 1));
  EXPECT_EQ(Next("* * * * *", L(2024, 5, 1, 12, 0, 0)), L(2024, 5, 1, 12, 0));
  EXPECT_EQ(Next("*/15 * * * *", L(2024, 5, 1, 12, 1)), L(2024, 5, 1, 12, 15));
  EXPECT_EQ(Next("0 0 * * *", L(2024, 12, 31, 0, 0, 1)), L(2025, 1, 1, 0));
  EXPECT_FALSE(Cron("* * * * *").has_seconds());
}

TEST(CronExpression, SixFieldsWithSeconds) {
  EXPECT_TRUE(Cron("*/2 * * * * *").has_seconds());
  EXPECT_EQ(Next("*/2 * * * * *", L(2024, 5, 1, 12, 0, 1)), L(2024, 5, 1, 12, 0, 2));
  EXPECT_EQ(Next("*/2 * * * * *", L(2024, 5, 1, 12, 0, 59)), L(2024, 5, 1, 12, 1, 0));
  EXPECT_EQ(Next("30 * * * * *", L(2024, 5, 1, 12, 0, 31)), L(2024, 5, 1, 12, 1, 30));
  EXPECT_EQ(Next("5,10,15 30 9 * * *", L(2024, 5, 1, 9, 30, 11)), L(2024, 5, 1, 9, 30, 15));
  EXPECT_EQ(Next("5,10,15 30 9 * * *", L(2024, 5, 1, 9, 30, 16)), L(2024, 5, 2, 9, 30, 5));
}

TEST(CronExpression, RangesStepsListsAndNames) {
  // Weekdays at 09:00: Friday 2024-05-03 -> Monday 2024-05-06.
  EXPECT_EQ(Next("0 9 * * MON-FRI", L(2024, 5, 3, 9, 0, 1)), L(2024, 5, 6, 9));
  EXPECT_EQ(Next("0 9 * * mon-fri", L(2024, 5, 3, 9, 0, 1)), L(2024, 5, 6, 9));
  EXPECT_EQ(Next("0 9 * * 1-5", L(2024, 5, 3, 9, 0, 1)), L(2024, 5, 6, 9));
  // Sunday as 7 and as 0.
  EXPECT_EQ(Next("0 0 * * 7", L(2024, 5, 1, 0)), L(2024, 5, 5, 0));
  EXPECT_EQ(Next("0 0 * * 0", L(2024, 5, 1, 0)), L(2024, 5, 5, 0));
  EXPECT_EQ(Next("0 0 * * FRI-SUN", L(2024, 5, 5, 0, 0, 1)), L(2024, 5, 10, 0));
  // Steps over a range and from a start.
  EXPECT_EQ(Next("10-40/10 * * * *", L(2024, 5, 1, 12, 31)), L(2024, 5, 1, 12, 40));
  EXPECT_EQ(Next("10-40/10 * * * *", L(2024, 5, 1, 12, 41)), L(2024, 5, 1, 13, 10));
  EXPECT_EQ(Next("50/5 * * * *", L(2024, 5, 1, 12, 56)), L(2024, 5, 1, 13, 50));
  EXPECT_EQ(Next("0 0 1 */3 *", L(2024, 2, 1, 0)), L(2024, 4, 1, 0));
  // Months by name and a list.
  EXPECT_EQ(Next("0 0 1 JAN,JUL *", L(2024, 2, 1, 0)), L(2024, 7, 1, 0));
  EXPECT_EQ(Next("0 0 1 1,jul *", L(2024, 7, 1, 0, 0, 1)), L(2025, 1, 1, 0));
  // Feb 29 only in leap years.
  EXPECT_EQ(Next("0 0 29 2 *", L(2024, 3, 1, 0)), L(2028, 2, 29, 0));
  // 31st: skips short months.
  EXPECT_EQ(Next("0 0 31 * *", L(2024, 4, 1, 0)), L(2024, 5, 31, 0));
}

TEST(CronExpression, BothDayFieldsRestrictedMeansEither) {
  // The 13th or any Friday: 2024-09-06 is a Friday, 2024-09-13 also a Friday, 2024-10-13 a Sunday.
  EXPECT_EQ(Next("0 0 13 * FRI", L(2024, 9, 1, 0)), L(2024, 9, 6, 0));
  EXPECT_EQ(Next("0 0 13 * 5", L(2024, 10, 5, 0)), L(2024, 10, 11, 0));
  EXPECT_EQ(Next("0 0 13 * 5", L(2024, 10, 11, 0, 0, 1)), L(2024, 10, 13, 0));
  // With one of them `*` (or `?`) only the other counts.
  EXPECT_EQ(Next("0 0 13 * *", L(2024, 9, 1, 0)), L(2024, 9, 13, 0));
  EXPECT_EQ(Next("0 0 ? * FRI", L(2024, 9, 7, 0)), L(2024, 9, 13, 0));
  EXPECT_EQ(Next("0 0 13 * ?", L(2024, 9, 1, 0)), L(2024, 9, 13, 0));
}

TEST(CronExpression, NeverMatching) {
  auto cron = Cron("0 0 30 2 *");
  EXPECT_FALSE(cron.NextMatch(L(2024, 1, 1, 0), L(2034, 1, 1, 0)));
  EXPECT_TRUE(Cron("0 3 * * *").MatchesIn(L(2024, 1, 1, 2), L(2024, 1, 1, 4)));
  EXPECT_FALSE(Cron("30 2 * * *").MatchesIn(L(2024, 1, 1, 3), L(2024, 1, 1, 4)));
  EXPECT_TRUE(Cron("* * * * *").every_hour());
  EXPECT_TRUE(Cron("0 */1 * * *").every_hour());
  EXPECT_FALSE(Cron("0 */2 * * *").every_hour());
}

TEST(CronExpression, ErrorsNameTheField) {
  EXPECT_NE(ParseError("").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(ParseError("* * * *").find("got 4"), std::string::npos);
  EXPECT_NE(ParseError("* * * * * * *").find("got 7"), std::string::npos);
  EXPECT_EQ(ParseError("61 * * * *"), "minute: 61 is out of range 0-59");
  EXPECT_EQ(ParseError("60 * * * * *"), "second: 60 is out of range 0-59");
  EXPECT_EQ(ParseError("* 24 * * *"), "hour: 24 is out of range 0-23");
  EXPECT_EQ(ParseError("* * 0 * *"), "day-of-month: 0 is out of range 1-31");
  EXPECT_EQ(ParseError("* * * 13 *"), "month: 13 is out of range 1-12");
  EXPECT_EQ(ParseError("* * * * 8"), "day-of-week: 8 is out of range 0-7");
  EXPECT_EQ(ParseError("* * * FOO *"), "month: \"FOO\" is not a month (1-12 or JAN-DEC)");
  EXPECT_EQ(ParseError("* * * * MONDAY"),
            "day-of-week: \"MONDAY\" is not a weekday (0-7 or SUN-SAT)");
  EXPECT_EQ(ParseError("*/0 * * * *"), "minute: bad step \"0\" (expected 1-59)");
  EXPECT_EQ(ParseError("30-10 * * * *"), "minute: range 30-10 is backwards");
  EXPECT_EQ(ParseError("1,,2 * * * *"), "minute: empty value");
  EXPECT_EQ(ParseError("? * * * *"), "minute: \"?\" is not a number");
  EXPECT_EQ(ParseError("a * * * *"), "minute: \"a\" is not a number");
  EXPECT_EQ(ParseError("1x * * * *"), "minute: \"1x\" is not a number");
}

}  // namespace
}  // namespace warden
