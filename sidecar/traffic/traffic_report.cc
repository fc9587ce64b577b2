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

std::vector<TrafficReport::Row> TrafficReport::Top(int64_t minutes, By by, size_t limit) {
  const int64_t now_minute = ServerMinute();
  std::vector<std::string> req_keys, ref_keys, cc_keys;
  for (int64_t m = now_minute - minutes + 1; m <= now_minute; ++m) {
    req_keys.push_back(Key("req", m));
    ref_keys.push_back(Key("ref", m));
    cc_keys.push_back(Key("cc", m));
  }
  // Sum the minutes in Redis; the scratch keys vanish on their own if we die here.
  std::mt19937_64 rng(std::random_device{}());
  std::string tmp = prefix_ + "top:tmp:" + std::to_string(rng());
  auto union_into = [&](const std::string& dest, const std::vector<std::string>& keys) {
    std::vector<std::string> args = {"ZUNIONSTORE", dest, std::to_string(keys.size())};
    args.insert(args.end(), keys.begin(), keys.end());
    conn_.Command(args).view().ThrowIfError();
    conn_.Command({"EXPIRE", dest, "30"});
  };
  union_into(tmp + ":req", req_keys);
  union_into(tmp + ":ref", ref_keys);
  std::map<std::string, double> requests = Scores(conn_, tmp + ":req");
  std::map<std::string, double> refused = Scores(conn_, tmp + ":ref");
  conn_.Command({"DEL", tmp + ":req", tmp + ":ref"});

  // The newest minute that saw an address knows its country.
  std::map<std::string, std::string> country;
  for (auto it = cc_keys.rbegin(); it != cc_keys.rend(); ++it) {
    RedisReply all = conn_.Command({"HGETALL", *it});
    ReplyView v = all.view();
    v.ThrowIfError();
    for (size_t i = 0; i + 1 < v.size(); i += 2) {
      country.emplace(std::string(v[i].str()), std::string(v[i + 1].str()));
    }
  }
  auto refused_of = [&](const std::string& addr) {
    auto it = refused.find(addr);
    return it == refused.end() ? int64_t{0} : static_cast<int64_t>(it->second);
  };

  std::vector<Row> rows;
  if (by == By::kCountry) {
    std::map<std::string, Row> groups;
    for (auto& [addr, n] : requests) {
      auto it = country.find(addr);
      const std::string cc = it == country.end() ? "-" : it->second;
      Row& r = groups[cc];
      r.name = cc;
      r.requests += static_cast<int64_t>(n);
      r.refused += refused_of(addr);
      r.addresses++;
    }
    for (auto& [cc, r] : groups) rows.push_back(r);
  } else {
    for (auto& [addr, n] : requests) {
      auto it = country.find(addr);
      rows.push_back(Row{addr, static_cast<int64_t>(n), refused_of(addr),
                         it == country.end() ? "" : it->second, 0});
    }
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
    if (by == By::kCountry) {
      j["country"] = r.name;
      j["addresses"] = r.addresses;
    } else {
      j["address"] = r.name;
      j["country"] = r.country.empty() ? nlohmann::json() : nlohmann::json(r.country);
    }
    j["requests"] = r.requests;
    j["refused"] = r.refused;
    out.push_back(j);
  }
  return out;
}

}  // namespace warden
