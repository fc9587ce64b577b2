#include "scheduler/schedule.h"

#include <cctype>
#include <limits>

#include "base/duration.h"

namespace warden {

namespace {

constexpr int64_t kMinIntervalMs = 10;
constexpr int64_t kHorizonS = int64_t{5} * 366 * 86400;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Schedule> Schedule::Parse(std::string_view text, std::shared_ptr<const TimeZone> zone,
                                        std::string* error) {
  Schedule schedule;
  schedule.text_ = std::string(Trim(text));
  schedule.zone_ = zone ? std::move(zone) : TimeZone::Utc();
  std::string_view body = schedule.text_;
  if (body.starts_with("@")) {
    static constexpr std::pair<std::string_view, std::string_view> kMacros[] = {
        {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
        {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
        {"@hourly", "0 0 * * * *"},
    };
    for (const auto& [name, expansion] : kMacros) {
      if (body == name) body = expansion;
    }
    if (body.starts_with("@every")) {
      std::string_view rest = Trim(body.substr(6));
      if (rest.empty() || body.size() == 6 || !std::isspace(static_cast<unsigned char>(body[6]))) {
        *error = "bad schedule \"" + schedule.text_ + "\": expected \"@every DURATION\" such " +
                 "as @every 500ms or @every 1m30s";
        return std::nullopt;
      }
      std::string duration_error;
      auto ms = ParseDurationMs(rest, &duration_error);
      if (!ms) {
        *error = "bad schedule \"" + schedule.text_ + "\": " + duration_error;
        return std::nullopt;
      }
      if (*ms < kMinIntervalMs) {
        *error = "bad schedule \"" + schedule.text_ + "\": the interval must be at least 10ms";
        return std::nullopt;
      }
      schedule.interval_ms_ = *ms;
      return schedule;
    }
    if (body.starts_with("@")) {
      *error = "bad schedule \"" + schedule.text_ +
               "\": unknown macro (known: @every, @yearly, @annually, @monthly, @weekly, "
               "@daily, @midnight, @hourly)";
      return std::nullopt;
    }
  }
  std::string cron_error;
  schedule.cron_ = CronExpression::Parse(body, &cron_error);
  if (!schedule.cron_) {
    *error = "bad cron expression \"" + schedule.text_ + "\": " + cron_error;
    return std::nullopt;
  }
  return schedule;
}

std::optional<int64_t> Schedule::Next(int64_t after_ms) const {
  if (interval_ms_ > 0) return (FloorDiv(after_ms, interval_ms_) + 1) * interval_ms_;
  auto s = NextCronSecond(FloorDiv(after_ms, 1000));
  if (!s) return std::nullopt;
  return *s * 1000;
}

// Walks the zone's stretches of constant UTC offset from `after_s` on. Inside a stretch,
// wall-clock and real time move together, so the first matching wall-clock second is the
// first fire time; the daylight-saving rules only matter at a stretch's edges.
std::optional<int64_t> Schedule::NextCronSecond(int64_t after_s) const {
  const CronExpression& cron = *cron_;
  const bool elapsed_time = cron.every_hour();
  const TimeZone& zone = *zone_;
  const int64_t horizon = after_s + kHorizonS;

  int64_t t = after_s + 1;
  if (!elapsed_time) {
    // Starting inside the repeated hour after a fall-back change: its wall-clock times already
    // ran in their first occurrence.
    if (auto prev = zone.PrevTransition(t); prev && prev->offset_before > prev->offset_after) {
      const int64_t first_new = prev->at + (prev->offset_before - prev->offset_after);
      if (t < first_new) t = first_new;
    }
  }
  while (t < horizon) {
    const int32_t offset = zone.OffsetAt(t);
    const auto transition = zone.NextTransition(t);
    const int64_t end = transition ? transition->at : std::numeric_limits<int64_t>::max() / 2;
    const int64_t local_end = std::min(end, horizon) + offset;
    if (auto local = cron.NextMatch(t + offset, local_end)) return *local - offset;
    if (!transition || end >= horizon) return std::nullopt;
    const int32_t gap = transition->offset_after - transition->offset_before;
    if (gap > 0) {
      // Spring forward: the wall-clock times [end + before, end + after) never happen.
      if (!elapsed_time && cron.MatchesIn(end + offset, end + transition->offset_after)) {
        return end;
      }
      t = end;
    } else {
      // Fall back: [end + after, end + before) happens twice.
      t = elapsed_time ? end : end - gap;
    }
  }
  return std::nullopt;
}

}  // namespace warden
