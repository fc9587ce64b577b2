#include "base/time_format.h"

#include <ctime>

namespace warden {

namespace {

std::string Format(int64_t unix_ms, bool with_ms) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  time_t t = static_cast<time_t>(seconds);
  tm parts;
  gmtime_r(&t, &parts);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
  std::string out(buf, n);
  if (with_ms) {
    char frac[8];
    snprintf(frac, sizeof frac, ".%03d", static_cast<int>(millis));
    out += frac;
  }
  return out + "Z";
}

}  // namespace

std::string FormatIsoUtc(int64_t unix_ms) { return Format(unix_ms, false); }
std::string FormatIsoUtcMs(int64_t unix_ms) { return Format(unix_ms, true); }

}  // namespace warden
