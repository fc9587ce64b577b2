#include "traffic/traffic_report.h"

#include <algorithm>
#include <cstdlib>
#include <map>

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

// KEYS: one minute's top:req, top:ref, top:sum (one slot in a cluster). ARGV: the fields of
// top:sum to read. Read only: the sum of each sorted set's scores, then each field (-1 if none).
constexpr const char* kSumScript = R"lua(
local out = {}
for k = 1, 2 do
  local s = 0
  local v = redis.call('ZRANGE', KEYS[k], 0, -1, 'WITHSCORES')
  for j = 2, #v, 2 do s = s + tonumber(v[j]) end
  out[#out + 1] = s
end
local fields = redis.call('HMGET', KEYS[3], unpack(ARGV))
for j = 1, #ARGV do out[#out + 1] = tonumber(fields[j]) or -1 end
return out
)lua";

// "<count>\t<text>" (top:tpath, top:tua): the count and the text, or nullopt (not ours).
std::optional<std::pair<int64_t, std::string>> CountedText(const ReplyView& v) {
  if (!v.is_string()) return std::nullopt;
  std::string_view text = v.str();
  size_t tab = text.find('\t');
  if (tab == 0 || tab == std::string_view::npos || tab + 1 == text.size() || tab > 18) {
    return std::nullopt;
  }
  int64_t n = 0;
  for (char c : text.substr(0, tab)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return std::make_pair(n, std::string(text.substr(tab + 1)));
}

// The text counted most (the smallest on a tie), "" if none.
std::string Best(const std::map<std::string, int64_t>& counts) {
  std::string text;
  int64_t most = 0;
  for (const auto& [t, n] : counts) {
    if (n > most) text = t, most = n;
  }
  return text;
}

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

}  // namespace

TrafficReport::TrafficReport(RedisConnection& conn, RedisSchema schema)
    : conn_(conn), schema_(std::move(schema)), sum_script_(kSumScript) {}

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
  return schema_.TrafficKey(family, minute);
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
  auto summed = [&](const char* family) { return Summed(family, first, now_minute); };
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

std::map<std::string, double> TrafficReport::Summed(const char* family, int64_t first,
                                                    int64_t last) {
  for (int64_t m = first; m <= last; ++m) {
    conn_.Append({"ZRANGE", Key(family, m), "0", "-1", "WITHSCORES"});
  }
  // Every reply read before any is judged: the pipeline stays in step whatever fails.
  std::vector<RedisReply> replies;
  for (int64_t m = first; m <= last; ++m) replies.push_back(conn_.GetReply("ZRANGE"));
  std::map<std::string, double> scores;
  for (const RedisReply& reply : replies) {
    ReplyView v = reply.view();
    v.ThrowIfError();
    for (size_t i = 0; i + 1 < v.size(); i += 2) {
      scores[std::string(v[i].str())] += std::stod(std::string(v[i + 1].str()));
    }
  }
  return scores;
}

void TrafficReport::AddProfiles(std::vector<Row>& rows, int64_t first, int64_t last) {
  if (rows.empty()) return;
  // Per minute (one slot in a cluster), pipelined: each row's sketch, top path and user agent
  // (HMGET), and strikes (ZSCORE); merged here over the minutes.
  auto hmget = [&](const char* family, int64_t m) {
    std::vector<std::string> args = {"HMGET", Key(family, m)};
    for (const Row& r : rows) args.push_back(r.name);
    conn_.Append(args);
  };
  for (int64_t m = first; m <= last; ++m) {
    hmget("dpath", m);
    hmget("tpath", m);
    hmget("tua", m);
    for (const Row& r : rows) conn_.Append({"ZSCORE", Key("strikes", m), r.name});
  }
  std::vector<std::optional<DistinctPaths>> bits(rows.size());
  std::vector<std::map<std::string, int64_t>> paths(rows.size()), agents(rows.size());
  std::vector<int64_t> strikes(rows.size(), 0);
  std::vector<RedisReply> replies;  // all read before any is judged: the pipeline stays in step
  for (int64_t m = first; m <= last; ++m) {
    for (int k = 0; k < 3; ++k) replies.push_back(conn_.GetReply("HMGET"));
    for (size_t i = 0; i < rows.size(); ++i) replies.push_back(conn_.GetReply("ZSCORE"));
  }
  for (const RedisReply& reply : replies) reply.view().ThrowIfError();
  size_t next = 0;
  for (int64_t m = first; m <= last; ++m) {
    const RedisReply& dpath = replies[next++];
    const RedisReply& tpath = replies[next++];
    const RedisReply& tua = replies[next++];
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i < dpath.view().size() && dpath.view()[i].is_string()) {
        if (auto b = DistinctPaths::FromHex(dpath.view()[i].str())) {
          if (!bits[i]) bits[i].emplace();
          bits[i]->Merge(*b);
        }
      }
      if (i < tpath.view().size()) {
        if (auto c = CountedText(tpath.view()[i])) paths[i][c->second] += c->first;
      }
      if (i < tua.view().size()) {
        if (auto c = CountedText(tua.view()[i])) agents[i][c->second] += c->first;
      }
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const RedisReply& score = replies[next++];
      if (score.view().is_string()) {
        const double s = std::strtod(std::string(score.view().str()).c_str(), nullptr);
        strikes[i] = std::max(strikes[i], static_cast<int64_t>(s));
      }
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (bits[i]) {
      rows[i].distinct_paths = bits[i]->Estimate();
      rows[i].distinct_paths_saturated = bits[i]->saturated();
    }
    rows[i].top_path = Best(paths[i]);
    rows[i].user_agent = Best(agents[i]);
    rows[i].strikes = strikes[i];
  }
}

std::vector<TrafficReport::Minute> TrafficReport::Minutes(int64_t first, int64_t last) {
  std::vector<Minute> out;
  if (last < first) return out;
  // One script call per minute (its keys share a slot in a cluster), pipelined.
  const std::vector<std::string> fields(std::begin(kSumFields), std::end(kSumFields));
  auto argv = [&](int64_t m) {
    return sum_script_.BuildArgv({Key("req", m), Key("ref", m), Key("sum", m)}, fields);
  };
  sum_script_.Load(conn_);
  for (int64_t m = first; m <= last; ++m) conn_.Append(argv(m));
  std::vector<RedisReply> replies;
  for (int64_t m = first; m <= last; ++m) replies.push_back(conn_.GetReply("EVALSHA"));
  for (int64_t m = first; m <= last; ++m) {
    RedisReply& reply = replies[static_cast<size_t>(m - first)];
    if (RedisScript::IsNoScript(reply)) {  // a node that lost its script cache
      std::vector<std::string> eval = argv(m);
      sum_script_.ToEval(eval);
      reply = conn_.Command(eval);
    }
  }
  const size_t per_minute = 2 + kSumFieldCount;
  for (int64_t m = first; m <= last; ++m) {
    ReplyView v = replies[static_cast<size_t>(m - first)].view();
    v.ThrowIfError();
    if (!v.is_array() || v.size() != per_minute) {
      throw RedisReplyError("the traffic sum script answered " + v.TypeName());
    }
    const size_t at = 0;
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
