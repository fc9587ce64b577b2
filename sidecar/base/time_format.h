#pragma once

#include <cstdint>
#include <string>

namespace warden {

// "2024-05-01T12:00:00Z": UTC, whole seconds.
std::string FormatIsoUtc(int64_t unix_ms);
// "2024-05-01T12:00:00.123Z": UTC with milliseconds, for log lines.
std::string FormatIsoUtcMs(int64_t unix_ms);

}  // namespace warden
