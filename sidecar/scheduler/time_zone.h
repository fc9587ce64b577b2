#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden {

// An IANA time zone read from the system's tz database (TZif files under /usr/share/zoneinfo,
// or $TZDIR), thread-safe and immutable once loaded. g++ 12's libstdc++ has no
// std::chrono::locate_zone, and localtime_r depends on the process-wide TZ, so Warden reads the
// files itself: the 64-bit transition table, then the POSIX TZ rule in the footer for times
// after the last transition (Debian's "slim" files stop listing transitions in 2007 for
// America/New_York and leave the rest to that rule).
//
// Times are Unix seconds; offsets are seconds east of UTC (Berlin in winter: +3600).
class TimeZone {
 public:
  // One change of UTC offset: from `at` on, local time is UTC + `offset_after`.
  struct Transition {
    int64_t at = 0;
    int32_t offset_before = 0;
    int32_t offset_after = 0;
  };

  static std::shared_ptr<const TimeZone> Utc();
  // "UTC", "Etc/UTC", "America/New_York", ... from `dir` (default: $TZDIR, else
  // /usr/share/zoneinfo). Returns nullptr and sets `error` for an unknown or unreadable zone.
  static std::shared_ptr<const TimeZone> Load(std::string_view name, std::string* error,
                                              const std::string& dir = "");
  // Parses the contents of a TZif file (version 1 to 4). Exposed for tests and fuzzing.
  static std::shared_ptr<const TimeZone> FromTzif(std::string_view name, std::string_view data,
                                                  std::string* error);
  // A zone that follows one POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0"), for tests.
  static std::shared_ptr<const TimeZone> FromPosixRule(std::string_view name, std::string_view rule,
                                                       std::string* error);

  const std::string& name() const { return name_; }
  bool is_utc() const { return fixed_ && fixed_offset_ == 0; }

  // The UTC offset in force at `unix_s`.
  int32_t OffsetAt(int64_t unix_s) const;
  // The first change of offset strictly after `unix_s`, if any.
  std::optional<Transition> NextTransition(int64_t unix_s) const;
  // The last change of offset at or before `unix_s`, if any.
  std::optional<Transition> PrevTransition(int64_t unix_s) const;

 private:
  // A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3".
  struct PosixRule {
    struct Date {
      enum class Kind { kJulian1, kJulian0, kMonthWeekDay } kind = Kind::kMonthWeekDay;
      int day = 0;  // Jn: 1-365; n: 0-365; M: weekday 0-6
      int month = 0;
      int week = 0;
      int32_t time = 7200;  // seconds after local midnight, may be negative or > 24h
    };
    int32_t std_offset = 0;
    bool has_dst = false;
    int32_t dst_offset = 0;
    Date start, end;
  };

  static bool ParsePosixRule(std::string_view text, PosixRule* rule);
  // The transitions the rule makes in `year`, in time order (0 or 2).
  std::vector<Transition> RuleTransitions(int64_t year) const;
  // Transitions from the rule, merged and without no-op changes, between two years.
  std::vector<Transition> RuleTransitionsAround(int64_t unix_s) const;

  std::string name_;
  bool fixed_ = false;
  int32_t fixed_offset_ = 0;
  // From the file, in time order, no-op changes removed.
  std::vector<Transition> transitions_;
  int32_t initial_offset_ = 0;  // before the first transition
  std::optional<PosixRule> rule_;
};

// Days since 1970-01-01 for a proleptic Gregorian date, and back (Howard Hinnant's algorithms).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);
// 0 = Sunday.
unsigned WeekdayFromDays(int64_t days);
bool IsLeapYear(int64_t year);
unsigned DaysInMonth(int64_t year, unsigned month);

}  // namespace warden
