// libFuzzer: schedules from the config file (cron expressions, @every, macros) must parse or
// fail cleanly, and the next fire times of any schedule that parses must grow.
#include <cstddef>
#include <cstdint>
#include <string>

#include "scheduler/schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto zone = [] {
    std::string error;
    auto z = warden::TimeZone::Load("America/New_York", &error);
    return z ? z : warden::TimeZone::Utc();
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  for (const auto& tz : {warden::TimeZone::Utc(), zone}) {
    auto schedule = warden::Schedule::Parse(text, tz, &error);
    if (!schedule) continue;
    int64_t t = 1700000000000;  // 2023-11-14
    for (int i = 0; i < 4; ++i) {
      auto next = schedule->Next(t);
      if (!next) break;
      if (*next <= t) __builtin_trap();
      t = *next;
    }
  }
  return 0;
}
