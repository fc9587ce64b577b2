#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds
// first (second minute hour day-of-month month day-of-week). Each field is `*`, a value, a
// range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma-separated list of those; months and
// weekdays also by name (JAN-DEC, SUN-SAT, any case), Sunday as 0 or 7, `?` as `*` in the day
// fields. As in Vixie cron, when both day fields are restricted a day matching either runs.
//
// The expression works on civil (wall-clock) time expressed as "local seconds": seconds since
// 1970-01-01T00:00:00 of the same calendar, without any zone. Schedule maps them to instants.
class CronExpression {
 public:
  // Returns nullopt and sets `error` ("minute: 61 is out of range 0-59") when invalid.
  static std::optional<CronExpression> Parse(std::string_view text, std::string* error);

  // The first matching local second at or after `from`, if there is one before `limit`.
  std::optional<int64_t> NextMatch(int64_t from, int64_t limit) const;
  // Does some local second in [from, to) match?
  bool MatchesIn(int64_t from, int64_t to) const;

  // Every hour of the day matches: the schedule repeats through the day rather than naming a
  // wall-clock time, which decides its daylight-saving behaviour (see Schedule).
  bool every_hour() const { return hours_.all(); }
  bool has_seconds() const { return has_seconds_; }
  const std::string& text() const { return text_; }

 private:
  bool DayMatches(int64_t days) const;

  std::string text_;
  bool has_seconds_ = false;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1-31
  std::bitset<13> months_;         // 1-12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace warden
