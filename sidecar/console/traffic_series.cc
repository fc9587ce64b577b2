#include "console/traffic_series.h"

#include <charconv>

#include "base/errors.h"

namespace warden {

namespace {

// KEYS: ts:s, ts:m, ts:writer.
// ARGV: node, lease_ms, second, requests, refused, seconds kept, minutes kept, then groups of
// three: minute, requests, refused. Returns 1 if this node wrote, 0 if another holds the lease.
constexpr const char* kRecordScript = R"lua(
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
local s = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], s, s)
redis.call('ZADD', KEYS[1], s, s .. ':' .. ARGV[4] .. ':' .. ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', s - tonumber(ARGV[6]))
for i = 8, #ARGV, 3 do
  local m = tonumber(ARGV[i])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], m, m)
  redis.call('ZADD', KEYS[2], m, m .. ':' .. ARGV[i + 1] .. ':' .. ARGV[i + 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', m - tonumber(ARGV[7]))
end
return 1
)lua";

// "<step>:<requests>:<refused>"; false for anything else (not ours: skipped).
bool ParsePoint(std::string_view text, TrafficReport::Minute* point) {
  int64_t values[3] = {};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, values[i]);
    if (ec != std::errc() || (i < 2 && (next == end || *next != ':'))) return false;
    p = i < 2 ? next + 1 : next;
  }
  if (p != end) return false;
  *point = {values[0], values[1], values[2]};
  return true;
}

}  // namespace

TrafficSeries::TrafficSeries(RedisConnection& conn, RedisSchema schema)
    : conn_(conn), schema_(std::move(schema)), record_script_(kRecordScript) {}

bool TrafficSeries::Record(const std::string& node, const TrafficReport::Minute& second,
                           const std::vector<TrafficReport::Minute>& minutes) {
  std::vector<std::string> args = {node,
                                   std::to_string(kLeaseMs),
                                   std::to_string(second.minute),
                                   std::to_string(second.requests),
                                   std::to_string(second.refused),
                                   std::to_string(kSecondsKept),
                                   std::to_string(kMinutesKept)};
  for (const TrafficReport::Minute& m : minutes) {
    args.push_back(std::to_string(m.minute));
    args.push_back(std::to_string(m.requests));
    args.push_back(std::to_string(m.refused));
  }
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
  for (int64_t step = first; step <= last; ++step) out.push_back({step, 0, 0});
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
