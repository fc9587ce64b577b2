#include "console/traffic_series.h"

#include <charconv>

#include "base/errors.h"

namespace warden {

namespace {

// KEYS: ts:s, ts:m, ts:writer.
// ARGV: node, lease_ms, seconds kept, minutes kept, the second's point, then the minutes'
// points ("<step>:<values>", see Point()). Returns 1 if this node wrote, 0 if another holds
// the lease.
constexpr const char* kRecordScript = R"lua(
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
for i = 5, #ARGV do
  local key = i == 5 and KEYS[1] or KEYS[2]
  local kept = i == 5 and ARGV[3] or ARGV[4]
  local step = tonumber(string.match(ARGV[i], '^(%d+):'))
  redis.call('ZREMRANGEBYSCORE', key, step, step)
  redis.call('ZADD', key, step, ARGV[i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', step - tonumber(kept))
end
return 1
)lua";

constexpr size_t kOldFields = 3;  // step, requests, refused
constexpr size_t kFields = kOldFields + TrafficReport::kSeries;

// "<step>:<requests>:<refused>:<kSeries values>" (a point without the breakdown: the first
// three only).
std::string Point(const TrafficReport::Minute& m) {
  std::string out =
      std::to_string(m.minute) + ":" + std::to_string(m.requests) + ":" + std::to_string(m.refused);
  if (!m.detailed) return out;
  for (int64_t v : m.series) out += ":" + std::to_string(v);
  return out;
}

// Point()'s text, old or new; false for anything else (not ours: skipped).
bool ParsePoint(std::string_view text, TrafficReport::Minute* point) {
  int64_t values[kFields] = {};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  size_t n = 0;
  while (true) {
    if (n == kFields) return false;
    auto [next, ec] = std::from_chars(p, end, values[n]);
    if (ec != std::errc()) return false;
    ++n;
    if (next == end) break;
    if (*next != ':') return false;
    p = next + 1;
  }
  if (n != kOldFields && n != kFields) return false;
  *point = {values[0], values[1], values[2], n == kFields};
  for (size_t k = 0; k < TrafficReport::kSeries && n == kFields; ++k) {
    point->series[k] = values[kOldFields + k];
  }
  return true;
}

}  // namespace

TrafficSeries::TrafficSeries(RedisConnection& conn, RedisSchema schema)
    : conn_(conn), schema_(std::move(schema)), record_script_(kRecordScript) {}

bool TrafficSeries::Record(const std::string& node, const TrafficReport::Minute& second,
                           const std::vector<TrafficReport::Minute>& minutes) {
  std::vector<std::string> args = {node, std::to_string(kLeaseMs), std::to_string(kSecondsKept),
                                   std::to_string(kMinutesKept), Point(second)};
  for (const TrafficReport::Minute& m : minutes) args.push_back(Point(m));
  RedisReply reply = record_script_.Run(
      conn_, {schema_.TrafficSeconds(), schema_.TrafficMinutes(), schema_.TrafficWriter()}, args);
  ReplyView v = reply.view();
  v.ThrowIfError();
  return v.is_integer() && v.integer() == 1;
}

std::vector<TrafficReport::Minute> TrafficSeries::Seconds(int64_t last, int64_t count) {
  return Range(schema_.TrafficSeconds(), last, count);
}

std::vector<TrafficReport::Minute> TrafficSeries::Minutes(int64_t last, int64_t count) {
  return Range(schema_.TrafficMinutes(), last, count);
}

std::vector<TrafficReport::Minute> TrafficSeries::Range(const std::string& key, int64_t last,
                                                        int64_t count) {
  const int64_t first = last - count + 1;
  std::vector<TrafficReport::Minute> out;
  for (int64_t step = first; step <= last; ++step) out.push_back({step});
  RedisReply reply =
      conn_.Command({"ZRANGEBYSCORE", key, std::to_string(first), std::to_string(last)});
  ReplyView v = reply.view();
  v.ThrowIfError();
  for (size_t i = 0; i < v.size(); ++i) {
    TrafficReport::Minute point;
    if (!ParsePoint(v[i].str(), &point) || point.minute < first || point.minute > last) continue;
    out[static_cast<size_t>(point.minute - first)] = point;
  }
  return out;
}

}  // namespace warden
