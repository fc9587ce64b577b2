// libFuzzer: TZif files and POSIX TZ rules must parse or fail cleanly, and a zone that parses
// must answer offsets and transitions in order.
#include <cstddef>
#include <cstdint>
#include <string>

#include "scheduler/time_zone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto zone = warden::TimeZone::FromTzif("fuzz", bytes, &error);
  if (!zone) zone = warden::TimeZone::FromPosixRule("fuzz", bytes, &error);
  if (!zone) return 0;
  for (int64_t t : {int64_t{-2000000000}, int64_t{0}, int64_t{1700000000}, int64_t{4000000000}}) {
    zone->OffsetAt(t);
    auto next = zone->NextTransition(t);
    if (next && next->at <= t) __builtin_trap();
    auto prev = zone->PrevTransition(t);
    if (prev && prev->at > t) __builtin_trap();
  }
  return 0;
}
