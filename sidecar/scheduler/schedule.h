#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/cron_expression.h"
#include "scheduler/time_zone.h"

namespace warden {

// When a job fires: a cron expression in a time zone, or a fixed interval.
//
//   "*/5 * * * *"        5-field cron, at second 0
//   "*/2 * * * * *"      6-field cron, seconds first
//   "@every 500ms"       every 500 ms; "@every 1m30s" (a duration, at least 10ms)
//   "@hourly" "@daily" (= "@midnight") "@weekly" "@monthly" "@yearly" (= "@annually")
//
// Fire times are a pure function of the schedule: Next(t) never depends on when a run ended,
// so there is no drift, and every sidecar of a fleet computes the same fire times. `@every D`
// fires at the multiples of D since the Unix epoch (1970-01-01T00:00:00Z).
//
// Cron schedules run on the job's wall clock (UTC unless a zone is given). Around
// daylight-saving changes they behave as cronie does:
//   - A schedule that names hours (hour field not `*`) runs each of its wall-clock times once:
//     a time skipped by a spring-forward change runs at the instant of the change (02:30 on the
//     day New York skips 02:00-03:00 runs at 03:00 EDT), and a time repeated by a fall-back
//     change runs at its first occurrence only (01:30 EDT, not again at 01:30 EST).
//   - A schedule that runs every hour (hour field `*`) follows elapsed time: nothing runs for
//     the skipped hour, and the repeated hour runs twice, so "every 15 minutes" stays every
//     15 minutes through both changes.
class Schedule {
 public:
  // Parses `text` for the zone `zone` (nullptr: UTC). Returns nullopt and sets `error`.
  static std::optional<Schedule> Parse(std::string_view text, std::shared_ptr<const TimeZone> zone,
                                       std::string* error);

  // The first fire time strictly after `after_ms` (Unix milliseconds), or nullopt if the
  // schedule never fires again within five years (for example "0 0 30 2 *").
  std::optional<int64_t> Next(int64_t after_ms) const;

  const std::string& text() const { return text_; }
  const TimeZone& zone() const { return *zone_; }
  // The interval of an `@every` schedule, else 0.
  int64_t interval_ms() const { return interval_ms_; }
  // A cron schedule with a seconds field.
  bool has_seconds() const { return cron_ && cron_->has_seconds(); }

 private:
  std::optional<int64_t> NextCronSecond(int64_t after_s) const;

  std::string text_;
  std::shared_ptr<const TimeZone> zone_;
  int64_t interval_ms_ = 0;
  std::optional<CronExpression> cron_;
};

}  // namespace warden
