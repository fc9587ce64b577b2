#include "traffic/traffic_report.h"

#include <algorithm>
#include <map>
#include <random>

#include "base/duration.h"
#include "base/errors.h"
#include "common/distinct_paths.h"
#include "common/redis_schema.h"
#include "storage/redis/redis_script.h"

namespace warden {

namespace {

// The fields of top:sum a minute's decisions and status classes come from.
constexpr const char* kSumFields[] = {"d:block",         "d:country",   "d:autoban",
                                      "d:limit",         "d:challenge", "d:dry_run",
                                      "d:limit_dry_run", "s4xx",        "s5xx"};
constexpr size_t kSumFieldCount = sizeof kSumFields / sizeof kSumFields[0];

// KEYS in threes per minute: top:req, top:ref, top:sum. ARGV: the fields of top:sum to read.
// Per minute, read only: the sum of each sorted set's scores, then each field (-1 if none).
constexpr const char* kSumScript = R"lua(
local out = {}
for i = 1, #KEYS - 2, 3 do
  for k = 0, 1 do
    local s = 0
    local v = redis.call('ZRANGE', KEYS[i + k], 0, -1, 'WITHSCORES')
    for j = 2, #v, 2 do s = s + tonumber(v[j]) end
    out[#out + 1] = s
  end
  local fields = redis.call('HMGET', KEYS[i + 2], unpack(ARGV))
  for j = 1, #ARGV do out[#out + 1] = tonumber(fields[j]) or -1 end
end
return out
)lua";

// Per address (ARGV) over the minutes (KEYS in fours: top:dpath, top:tpath, top:tua,
// top:strikes of each minute), read only: {its distinct-path sketches OR-ed ("" if none), its
// top path and its user agent (the one counted most over the minutes where it was the top;
// "" if none), its highest strike count}. Values that are not ours are skipped.
// (after RedisSchema::kMergeSketchesLua)
constexpr const char* kProfileScript = R"lua(
local function best(counts)
  local text, most = '', 0
  for t, n in pairs(counts) do
    if n > most or (n == most and t < text) then text, most = t, n end
  end
  return text
end
local out = {}
for a, addr in ipairs(ARGV) do
  local bits, paths, agents, strikes = nil, {}, {}, 0
  for k = 1, #KEYS - 3, 4 do
    local b = redis.call('HGET', KEYS[k], addr)
    if b and #b == 32 and string.match(b, '^%x+$') then bits = merge_bits(bits, b) end
    for j, counts in ipairs({paths, agents}) do
      local v = redis.call('HGET', KEYS[k + j], addr)
      local n, text = string.match(v or '', '^(%d+)\t(.+)$')
      if n then counts[text] = (counts[text] or 0) + tonumber(n) end
    end
    local s = tonumber(redis.call('ZSCORE', KEYS[k + 3], addr)) or 0
    if s > strikes then strikes = s end
  end
  out[a] = {bits or '', best(paths), best(agents), math.floor(strikes)}
end
return out
)lua";

// kSeries from the nodes' totals. What passed is what no other decision took (so the stack
// adds up to the requests even when a node's leader changed and its first decisions went
// uncounted): requests - refused (block, limit) - challenged - dry runs.
std::array<int64_t, TrafficReport::kSeries> DecisionSeries(int64_t requests, int64_t refused,
                                                           int64_t block, int64_t country,
                                                           int64_t autoban, int64_t limit,
                                                           int64_t challenge, int64_t dry_run,
                                                           int64_t s4xx, int64_t s5xx) {
  return {std::max<int64_t>(0, requests - refused - challenge - dry_run),
          std::max<int64_t>(0, block - country - autoban),
          country,
          autoban,
          limit,
          challenge,
          dry_run,
          s4xx,
          s5xx};
}

std::map<std::string, double> Scores(RedisConnection& conn, const std::string& key) {
  std::map<std::string, double> scores;
  RedisReply reply = conn.Command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
  ReplyView v = reply.view();
  v.ThrowIfError();
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    scores[std::string(v[i].str())] = std::stod(std::string(v[i + 1].str()));
  }
  return scores;
}

}  // namespace

TrafficReport::TrafficReport(RedisConnection& conn, std::string prefix)
    : conn_(conn),
      prefix_(std::move(prefix)),
      sum_script_(kSumScript),
      profile_script_(std::string(RedisSchema::kMergeSketchesLua) + kProfileScript) {}

int64_t TrafficReport::WindowMinutes(const std::string& window, const std::string& what) {
  std::string error;
  auto window_ms = ParseDurationMs(window, &error);
  if (!window_ms) throw UsageError("bad " + what + " \"" + window + "\": " + error);
  int64_t minutes = (*window_ms + 59999) / 60000;
  if (minutes < 1 || minutes > kMaxWindowMinutes) {
    throw UsageError("bad " + what + " \"" + window + "\": nodes keep counts for 1m to 2h");
  }
  return minutes;
}

std::string TrafficReport::Key(const char* family, int64_t minute) const {
  return prefix_ + "top:" + family + ":" + std::to_string(minute);
}

int64_t TrafficReport::ServerMinute() {
  RedisReply time = conn_.Command({"TIME"});
  time.view().ThrowIfError();
  return std::stoll(std::string(time.view()[0].str())) / 60;
}

std::optional<TrafficReport::By> TrafficReport::ParseBy(const std::string& by) {
  if (by == "address" || by == "ip") return By::kAddress;
  if (by == "country") return By::kCountry;
  if (by == "path") return By::kPath;
  if (by == "status") return By::kStatus;
  return std::nullopt;
}

const char* TrafficReport::Name(By by) {
  switch (by) {
    case By::kCountry:
      return "country";
    case By::kPath:
      return "path";
    case By::kStatus:
      return "status";
    case By::kAddress:
      break;
  }
  return "address";
}

namespace {
const char* const kStatusFamilies[] = {"s2xx", "s3xx", "s4xx", "s5xx"};
const char* const kStatusNames[] = {"2xx", "3xx", "4xx", "5xx"};
}  // namespace

std::vector<TrafficReport::Row> TrafficReport::Top(int64_t minutes, By by, size_t limit) {
  const int64_t now_minute = ServerMinute();
  const int64_t first = now_minute - minutes + 1;
  // Sum the minutes of a family in Redis; the scratch keys vanish on their own if we die here.
  std::mt19937_64 rng(std::random_device{}());
  const std::string tmp = prefix_ + "top:tmp:" + std::to_string(rng());
  auto summed = [&](const char* family) {
    std::vector<std::string> args = {"ZUNIONSTORE", tmp, std::to_string(minutes)};
    for (int64_t m = first; m <= now_minute; ++m) args.push_back(Key(family, m));
    conn_.Command(args).view().ThrowIfError();
    conn_.Command({"EXPIRE", tmp, "30"});
    std::map<std::string, double> scores = Scores(conn_, tmp);
    conn_.Command({"DEL", tmp});
    return scores;
  };
  auto of = [](const std::map<std::string, double>& scores, const std::string& name) {
    auto it = scores.find(name);
    return it == scores.end() ? int64_t{0} : static_cast<int64_t>(it->second);
  };

  std::vector<Row> rows;
  if (by == By::kStatus) {
    // The fleet's totals of each minute (top:sum).
    for (int i = 0; i < 4; ++i) {
      rows.emplace_back();
      rows.back().name = kStatusNames[i];
    }
    for (int64_t m = first; m <= now_minute; ++m) {
      RedisReply sums = conn_.Command({"HMGET", Key("sum", m), kStatusFamilies[0],
                                       kStatusFamilies[1], kStatusFamilies[2], kStatusFamilies[3]});
      ReplyView v = sums.view();
      v.ThrowIfError();
      for (size_t i = 0; i < 4 && i < v.size(); ++i) {
        if (!v[i].is_nil()) rows[i].requests += std::stoll(std::string(v[i].str()));
      }
    }
  } else if (by == By::kPath) {
    auto requests = summed("path"), errors = summed("p5xx"), upstream = summed("pup");
    for (auto& [path, n] : requests) {
      Row r;
      r.name = path;
      r.requests = static_cast<int64_t>(n);
      r.status[3] = of(errors, path);
      r.upstream_ms = of(upstream, path);
      rows.push_back(std::move(r));
    }
  } else {
    auto requests = summed("req"), refused = summed("ref"), bytes = summed("bytes"),
         upstream = summed("up");
    std::map<std::string, double> status[4];
    for (int i = 0; i < 4; ++i) status[i] = summed(kStatusFamilies[i]);
    // The newest minute that saw an address knows its country.
    std::map<std::string, std::string> country;
    for (int64_t m = now_minute; m >= first; --m) {
      RedisReply all = conn_.Command({"HGETALL", Key("cc", m)});
      ReplyView v = all.view();
      v.ThrowIfError();
      for (size_t i = 0; i + 1 < v.size(); i += 2) {
        country.emplace(std::string(v[i].str()), std::string(v[i + 1].str()));
      }
    }
    std::map<std::string, Row> groups;
    for (auto& [addr, n] : requests) {
      auto it = country.find(addr);
      const std::string cc = it == country.end() ? "" : it->second;
      Row& r = by == By::kCountry ? groups[cc.empty() ? "-" : cc] : groups[addr];
      r.name = by == By::kCountry ? (cc.empty() ? "-" : cc) : addr;
      if (by == By::kAddress) r.country = cc;
      r.requests += static_cast<int64_t>(n);
      r.refused += of(refused, addr);
      r.addresses++;
      for (int i = 0; i < 4; ++i) r.status[i] += of(status[i], addr);
      r.bytes += of(bytes, addr);
      r.upstream_ms += of(upstream, addr);
    }
    for (auto& [name, r] : groups) rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.requests != b.requests ? a.requests > b.requests : a.name < b.name;
  });
  if (rows.size() > limit) rows.resize(limit);
  if (by == By::kAddress) AddProfiles(rows, first, now_minute);
  return rows;
}

void TrafficReport::AddProfiles(std::vector<Row>& rows, int64_t first, int64_t last) {
  if (rows.empty()) return;
  std::vector<std::string> keys, addresses;
  for (int64_t m = first; m <= last; ++m) {
    for (const char* family : {"dpath", "tpath", "tua", "strikes"}) keys.push_back(Key(family, m));
  }
  for (const Row& r : rows) addresses.push_back(r.name);
  RedisReply reply = profile_script_.Run(conn_, keys, addresses);
  ReplyView v = reply.view();
  v.ThrowIfError();
  if (!v.is_array() || v.size() != rows.size()) {
    throw RedisReplyError("the traffic profile script answered " + v.TypeName());
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    ReplyView p = v[i];
    if (!p.is_array() || p.size() != 4) continue;
    if (auto paths = DistinctPaths::FromHex(p[0].str())) {
      rows[i].distinct_paths = paths->Estimate();
      rows[i].distinct_paths_saturated = paths->saturated();
    }
    rows[i].top_path = std::string(p[1].str());
    rows[i].user_agent = std::string(p[2].str());
    rows[i].strikes = p[3].integer();
  }
}

std::vector<TrafficReport::Minute> TrafficReport::Minutes(int64_t first, int64_t last) {
  std::vector<Minute> out;
  if (last < first) return out;
  std::vector<std::string> keys;
  for (int64_t m = first; m <= last; ++m) {
    keys.push_back(Key("req", m));
    keys.push_back(Key("ref", m));
    keys.push_back(Key("sum", m));
  }
  const std::vector<std::string> fields(std::begin(kSumFields), std::end(kSumFields));
  RedisReply reply = sum_script_.Run(conn_, keys, fields);
  ReplyView v = reply.view();
  v.ThrowIfError();
  const size_t per_minute = 2 + kSumFieldCount;
  if (!v.is_array() || v.size() != static_cast<size_t>(last - first + 1) * per_minute) {
    throw RedisReplyError("the traffic sum script answered " + v.TypeName());
  }
  for (int64_t m = first; m <= last; ++m) {
    const size_t at = static_cast<size_t>(m - first) * per_minute;
    int64_t f[kSumFieldCount];
    bool detailed = false;
    for (size_t k = 0; k < kSumFieldCount; ++k) {
      f[k] = v[at + 2 + k].integer();
      if (f[k] >= 0) detailed = true;  // top:sum: a node that sends the breakdown
      if (f[k] < 0) f[k] = 0;
    }
    Minute minute{m, v[at].integer(), v[at + 1].integer(), detailed};
    minute.series = DecisionSeries(minute.requests, minute.refused, f[0], f[1], f[2], f[3], f[4],
                                   f[5] + f[6], f[7], f[8]);
    out.push_back(minute);
  }
  return out;
}

nlohmann::json TrafficReport::ToJson(const std::vector<Row>& rows, By by) {
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows) {
    nlohmann::json j;
    switch (by) {
      case By::kStatus:
        j["status"] = r.name;
        j["requests"] = r.requests;
        out.push_back(j);
        continue;
      case By::kPath:
        j["path"] = r.name;
        j["requests"] = r.requests;
        j["5xx"] = r.status[3];
        j["upstream_ms"] = r.upstream_ms;
        out.push_back(j);
        continue;
      case By::kCountry:
        j["country"] = r.name;
        j["addresses"] = r.addresses;
        break;
      case By::kAddress:
        j["address"] = r.name;
        j["country"] = r.country.empty() ? nlohmann::json() : nlohmann::json(r.country);
        j["distinct_paths"] =
            r.distinct_paths < 0 ? nlohmann::json() : nlohmann::json(r.distinct_paths);
        j["distinct_paths_saturated"] = r.distinct_paths_saturated;
        j["top_path"] = r.top_path.empty() ? nlohmann::json() : nlohmann::json(r.top_path);
        j["user_agent"] = r.user_agent.empty() ? nlohmann::json() : nlohmann::json(r.user_agent);
        j["strikes"] = r.strikes;
        break;
    }
    j["requests"] = r.requests;
    j["refused"] = r.refused;
    j["status"] = {
        {"2xx", r.status[0]}, {"3xx", r.status[1]}, {"4xx", r.status[2]}, {"5xx", r.status[3]}};
    j["bytes"] = r.bytes;
    j["upstream_ms"] = r.upstream_ms;
    out.push_back(j);
  }
  return out;
}

}  // namespace warden
