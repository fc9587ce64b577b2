#include "traffic/traffic_report.h"

#include <algorithm>
#include <map>
#include <random>

#include "base/duration.h"
#include "base/errors.h"
#include "storage/redis/redis_script.h"

namespace warden {

namespace {

// The sum of each sorted set's scores, in KEYS order (read only).
constexpr const char* kSumScript = R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  local s = 0
  local v = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  for j = 2, #v, 2 do s = s + tonumber(v[j]) end
  out[i] = s
end
return out
)lua";

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
    : conn_(conn), prefix_(std::move(prefix)), sum_script_(kSumScript) {}

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
    for (int i = 0; i < 4; ++i) rows.push_back(Row{kStatusNames[i]});
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
      Row r{path, static_cast<int64_t>(n)};
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
  return rows;
}

std::vector<TrafficReport::Minute> TrafficReport::Minutes(int64_t first, int64_t last) {
  std::vector<Minute> out;
  if (last < first) return out;
  std::vector<std::string> keys;
  for (int64_t m = first; m <= last; ++m) {
    keys.push_back(Key("req", m));
    keys.push_back(Key("ref", m));
  }
  RedisReply reply = sum_script_.Run(conn_, keys, {});
  ReplyView v = reply.view();
  v.ThrowIfError();
  if (!v.is_array() || v.size() != keys.size()) {
    throw RedisReplyError("the traffic sum script answered " + v.TypeName());
  }
  for (int64_t m = first, i = 0; m <= last; ++m, i += 2) {
    out.push_back(Minute{m, v[i].integer(), v[i + 1].integer()});
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
