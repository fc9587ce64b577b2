#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Durations as people type them: "500ms", "30s", "10m", "1h30m", "7d", "2w", or a bare number of
// seconds ("3600"). Components may be combined in any order and are summed. The result is in
// milliseconds, at most kMaxDurationMs. On failure returns nullopt and sets `error` to one line.
std::optional<int64_t> ParseDurationMs(std::string_view text, std::string* error);

// A ban's time to live: a duration, or "0" / "never" / "permanent" / "" for a permanent ban
// (returned as 0). A TTL must be at least one second.
std::optional<int64_t> ParseTtlMs(std::string_view text, std::string* error);

// "59m12s", "7d", "1h30m", "0s": whole seconds (rounded up) in days, hours, minutes and seconds,
// zero components left out. Durations under one second print as "250ms".
std::string FormatDuration(int64_t ms);

inline constexpr int64_t kMaxDurationMs = int64_t{100} * 365 * 24 * 3600 * 1000;  // 100 years

}  // namespace warden
