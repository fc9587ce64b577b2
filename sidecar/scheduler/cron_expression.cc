#include "scheduler/cron_expression.h"

#include <array>
#include <cctype>
#include <vector>

#include "scheduler/time_zone.h"

namespace warden {

namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;                   // day-of-week accepts 7 as Sunday
  const char* const* names;  // nullptr or 12/7 names for min..
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kSecond{"second", 0, 59, nullptr};
constexpr FieldSpec kMinute{"minute", 0, 59, nullptr};
constexpr FieldSpec kHour{"hour", 0, 23, nullptr};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr};
constexpr FieldSpec kMonth{"month", 1, 12, kMonthNames};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, kDayNames};

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// A number or a name of the field; false with a message otherwise.
bool ParseValue(const FieldSpec& spec, std::string_view token, int* out, std::string* error) {
  if (token.empty()) {
    *error = std::string(spec.name) + ": empty value";
    return false;
  }
  if (std::isdigit(static_cast<unsigned char>(token.front()))) {
    int v = 0;
    for (char c : token) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) {
        *error = std::string(spec.name) + ": \"" + std::string(token) + "\" is not a number";
        return false;
      }
      v = v * 10 + (c - '0');
    }
    if (v < spec.min || v > spec.max) {
      *error = std::string(spec.name) + ": " + std::string(token) + " is out of range " +
               std::to_string(spec.min) + "-" + std::to_string(spec.max);
      return false;
    }
    *out = v;
    return true;
  }
  if (spec.names != nullptr && token.size() == 3) {
    std::string upper;
    for (char c : token) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const int count = spec.min == 1 ? 12 : 7;
    for (int i = 0; i < count; ++i) {
      if (upper == spec.names[i]) {
        *out = spec.min + i;
        return true;
      }
    }
  }
  *error = std::string(spec.name) + ": \"" + std::string(token) + "\" is not a " +
           (spec.names == nullptr ? "number"
            : spec.min == 1       ? "month (1-12 or JAN-DEC)"
                                  : "weekday (0-7 or SUN-SAT)");
  return false;
}

// One field into `bits` (indexed by value); `restricted` is false for `*` and `?`.
template <size_t N>
bool ParseField(const FieldSpec& spec, std::string_view text, std::bitset<N>* bits,
                bool* restricted, std::string* error) {
  *restricted = !(text.starts_with("*") || text == "?");
  const bool question_ok = spec.min == kDayOfMonth.min && spec.max == kDayOfMonth.max;
  for (std::string_view item : Split(text, ',')) {
    int step = 1;
    std::string_view range = item;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      std::string_view step_text = item.substr(slash + 1);
      range = item.substr(0, slash);
      int parsed = 0;
      FieldSpec step_spec{spec.name, 1, spec.max, nullptr};
      std::string step_error;
      if (!ParseValue(step_spec, step_text, &parsed, &step_error)) {
        *error = std::string(spec.name) + ": bad step \"" + std::string(step_text) +
                 "\" (expected 1-" + std::to_string(spec.max) + ")";
        return false;
      }
      step = parsed;
    }
    int lo = spec.min, hi = spec.max == 7 ? 6 : spec.max;
    if (range == "*" || (range == "?" && (question_ok || spec.names == kDayNames))) {
      // the whole range
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      if (!ParseValue(spec, range.substr(0, dash), &lo, error) ||
          !ParseValue(spec, range.substr(dash + 1), &hi, error)) {
        return false;
      }
      if (spec.max == 7 && hi == 0 && lo > 0) hi = 7;  // FRI-SUN
      if (lo > hi) {
        *error = std::string(spec.name) + ": range " + std::string(range) + " is backwards";
        return false;
      }
    } else {
      if (!ParseValue(spec, range, &lo, error)) return false;
      // "a/n" runs from a to the end of the range.
      hi = item.find('/') != std::string_view::npos ? (spec.max == 7 ? 6 : spec.max) : lo;
      if (spec.max == 7 && lo == 7) hi = 7;
    }
    for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(spec.max == 7 ? v % 7 : v));
  }
  return true;
}

int NextSetBit(const auto& bits, int from) {
  for (int i = from; i < static_cast<int>(bits.size()); ++i) {
    if (bits.test(static_cast<size_t>(i))) return i;
  }
  return -1;
}

}  // namespace

std::optional<CronExpression> CronExpression::Parse(std::string_view text, std::string* error) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  if (fields.size() != 5 && fields.size() != 6) {
    *error =
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds "
        "first), got " +
        std::to_string(fields.size());
    return std::nullopt;
  }
  CronExpression cron;
  cron.text_ = std::string(text);
  cron.has_seconds_ = fields.size() == 6;
  size_t f = 0;
  bool ignored = false;
  if (cron.has_seconds_) {
    if (!ParseField(kSecond, fields[f++], &cron.seconds_, &ignored, error)) return std::nullopt;
  } else {
    cron.seconds_.set(0);
  }
  if (!ParseField(kMinute, fields[f++], &cron.minutes_, &ignored, error) ||
      !ParseField(kHour, fields[f++], &cron.hours_, &ignored, error) ||
      !ParseField(kDayOfMonth, fields[f++], &cron.days_of_month_, &cron.dom_restricted_, error) ||
      !ParseField(kMonth, fields[f++], &cron.months_, &ignored, error) ||
      !ParseField(kDayOfWeek, fields[f++], &cron.days_of_week_, &cron.dow_restricted_, error)) {
    return std::nullopt;
  }
  return cron;
}

bool CronExpression::DayMatches(int64_t days) const {
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  const bool dom = days_of_month_.test(day);
  const bool dow = days_of_week_.test(WeekdayFromDays(days));
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<int64_t> CronExpression::NextMatch(int64_t from, int64_t limit) const {
  int64_t s = from;
  while (s < limit) {
    const int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    const int64_t secs = s - days * 86400;
    int64_t year = 0;
    unsigned month = 0, day = 0;
    CivilFromDays(days, &year, &month, &day);
    if (!months_.test(month)) {
      s = (month == 12 ? DaysFromCivil(year + 1, 1, 1) : DaysFromCivil(year, month + 1, 1)) * 86400;
      continue;
    }
    if (!DayMatches(days)) {
      s = (days + 1) * 86400;
      continue;
    }
    const int hour = static_cast<int>(secs / 3600);
    const int minute = static_cast<int>(secs % 3600 / 60);
    const int second = static_cast<int>(secs % 60);
    if (!hours_.test(static_cast<size_t>(hour))) {
      const int next = NextSetBit(hours_, hour + 1);
      s = next < 0 ? (days + 1) * 86400 : days * 86400 + next * 3600;
      continue;
    }
    if (!minutes_.test(static_cast<size_t>(minute))) {
      const int next = NextSetBit(minutes_, minute + 1);
      s = next < 0 ? days * 86400 + (hour + 1) * 3600 : days * 86400 + hour * 3600 + next * 60;
      continue;
    }
    if (!seconds_.test(static_cast<size_t>(second))) {
      const int next = NextSetBit(seconds_, second + 1);
      s = next < 0 ? days * 86400 + hour * 3600 + (minute + 1) * 60
                   : days * 86400 + hour * 3600 + minute * 60 + next;
      continue;
    }
    return s;
  }
  return std::nullopt;
}

bool CronExpression::MatchesIn(int64_t from, int64_t to) const {
  return from < to && NextMatch(from, to).has_value();
}

}  // namespace warden
