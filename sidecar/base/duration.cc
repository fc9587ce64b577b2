#include "base/duration.h"

#include <cctype>

namespace warden {

namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ms", 1},          {"s", 1000},         {"m", 60 * 1000},
    {"h", 3600 * 1000}, {"d", 86400 * 1000}, {"w", int64_t{7} * 86400 * 1000},
};

std::nullopt_t Fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

std::string BadDuration(std::string_view text) {
  return "bad duration \"" + std::string(text) +
         "\": expected a number with a unit (ms, s, m, h, d, w) such as 30s, 10m, 1h30m or 7d";
}

}  // namespace

std::optional<int64_t> ParseDurationMs(std::string_view text, std::string* error) {
  std::string_view rest = text;
  if (rest.empty()) return Fail(error, BadDuration(text));

  // A bare number counts seconds.
  bool all_digits = true;
  for (char c : rest) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));

  int64_t total = 0;
  while (!rest.empty()) {
    if (!std::isdigit(static_cast<unsigned char>(rest.front()))) {
      return Fail(error, BadDuration(text));
    }
    int64_t number = 0;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
      number = number * 10 + (rest.front() - '0');
      rest.remove_prefix(1);
      if (number > kMaxDurationMs) {
        return Fail(error,
                    "duration \"" + std::string(text) + "\" is too long (100 years at most)");
      }
    }
    int64_t unit_ms = 0;
    if (all_digits) {
      unit_ms = 1000;
    } else {
      for (const Unit& unit : kUnits) {
        if (rest.starts_with(unit.name)) {
          unit_ms = unit.ms;
          rest.remove_prefix(unit.name.size());
          break;
        }
      }
      if (unit_ms == 0) return Fail(error, BadDuration(text));
    }
    if (number > (kMaxDurationMs - total) / unit_ms) {
      return Fail(error, "duration \"" + std::string(text) + "\" is too long (100 years at most)");
    }
    total += number * unit_ms;
  }
  return total;
}

std::optional<int64_t> ParseTtlMs(std::string_view text, std::string* error) {
  if (text.empty() || text == "0" || text == "never" || text == "permanent") return 0;
  std::string parse_error;
  auto ms = ParseDurationMs(text, &parse_error);
  if (!ms) {
    return Fail(error, "bad TTL \"" + std::string(text) +
                           "\": expected a duration such as 30s, 10m, 1h30m or 7d, or \"never\"");
  }
  if (*ms == 0) return 0;
  if (*ms < 1000) {
    return Fail(error, "TTL \"" + std::string(text) + "\" is shorter than one second");
  }
  return ms;
}

std::string FormatDuration(int64_t ms) {
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  int64_t seconds = (ms + 999) / 1000;
  std::string out;
  auto add = [&](int64_t value, const char* unit) {
    if (value > 0) out += std::to_string(value) + unit;
  };
  add(seconds / 86400, "d");
  add(seconds % 86400 / 3600, "h");
  add(seconds % 3600 / 60, "m");
  add(seconds % 60, "s");
  return out;
}

}  // namespace warden
