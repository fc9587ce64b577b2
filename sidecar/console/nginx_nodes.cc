#include "console/nginx_nodes.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "base/time_format.h"
#include "common/blacklist_entry.h"

namespace warden {

namespace {

const char* const kLimitCounts[] = {"passed",  "delayed",   "rejected",
                                    "dry_run", "fail_open", "fail_closed"};

int64_t Int(const nlohmann::json& j, const char* key, int64_t fallback = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

// "ok", or which of the node's connections are down and the last thing each said.
std::string RedisState(const nlohmann::json& connections) {
  std::string down;
  for (const nlohmann::json& c : connections) {
    if (!c.is_object() || c.value("ok", false)) continue;
    if (!down.empty()) down += "; ";
    down += c.value("purpose", std::string("?"));
    const std::string error = c.value("last_error", std::string());
    if (!error.empty()) down += ": " + error;
  }
  return down.empty() ? "ok" : "down: " + down;
}

// The table's figures of one node, from its report.
void Summarize(nlohmann::json& node, int64_t bl_seq) {
  const nlohmann::json& bl = node.contains("blacklist") ? node["blacklist"] : nlohmann::json();
  if (bl.is_object()) {
    node["blacklist_seq"] = Int(bl, "seq");
    node["behind"] = std::max<int64_t>(0, bl_seq - Int(bl, "seq"));
    node["sync_lag_ms"] = Int(bl, "sync_lag_ms", -1);
  }
  if (node.contains("shm") && node["shm"].is_array()) {
    double fullest = -1;
    for (const nlohmann::json& z : node["shm"]) {
      if (!z.is_object() || Int(z, "capacity") <= 0) continue;
      double use =
          100.0 * static_cast<double>(Int(z, "used")) / static_cast<double>(Int(z, "capacity"));
      if (use > fullest) {
        fullest = use;
        node["shm_fullest"] = z.value("zone", std::string());
      }
    }
    if (fullest >= 0) node["shm_use_pct"] = static_cast<int64_t>(fullest + 0.5);
  }
  if (node.contains("redis") && node["redis"].is_array()) {
    node["redis_state"] = RedisState(node["redis"]);
  }
}

}  // namespace

nlohmann::json NginxNodes::Read(RedisConnection& conn, const RedisSchema& schema, int64_t now_ms,
                                int64_t bl_seq) {
  nlohmann::json nodes = nlohmann::json::array();
  RedisReply names = conn.Command({"ZRANGE", schema.NginxNodes(), "0", "-1", "WITHSCORES"});
  ReplyView v = names.view();
  v.ThrowIfError();
  if (v.size() < 2) return nodes;
  std::vector<std::string> mget = {"MGET"};
  std::vector<std::pair<std::string, int64_t>> seen;
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    seen.emplace_back(std::string(v[i].str()), v[i + 1].integer());
    mget.push_back(schema.NginxNode(seen.back().first));
  }
  RedisReply reports = conn.Command(mget);
  ReplyView r = reports.view();
  r.ThrowIfError();
  for (size_t i = 0; i < seen.size(); ++i) {
    const auto& [name, last] = seen[i];
    nlohmann::json j = nlohmann::json::object();
    if (i < r.size() && r[i].is_string()) {
      j = nlohmann::json::parse(r[i].str(), nullptr, false);
      if (!j.is_object()) j = nlohmann::json::object();  // not ours: the name only
    }
    const int64_t age = std::max<int64_t>(0, now_ms - last);
    j["node"] = name;
    j["role"] = "nginx";
    j["last_seen"] = FormatIsoUtcMs(last);
    j["age_ms"] = age;
    j["state"] = age >= kDownMs ? "down" : age >= kStaleMs ? "stale" : "up";
    if (j.contains("started_ms") && j["started_ms"].is_number_integer()) {
      j["started_at"] = FormatIsoUtcMs(j["started_ms"].get<int64_t>());
    }
    Summarize(j, bl_seq);
    nodes.push_back(std::move(j));
  }
  return nodes;
}

nlohmann::json NginxNodes::Limits(const nlohmann::json& nodes) {
  nlohmann::json by_node = nlohmann::json::array();
  std::map<std::string, nlohmann::json> zones;  // by name: the summed row
  std::map<std::string, std::set<std::string>> modes;
  for (const nlohmann::json& node : nodes) {
    if (!node.contains("limits") || !node["limits"].is_array()) continue;
    const std::string name = node.value("node", std::string());
    for (const nlohmann::json& l : node["limits"]) {
      if (!l.is_object() || !l.contains("zone") || !l["zone"].is_string()) continue;
      const std::string zone = l["zone"];
      const std::string mode = l.value("mode", std::string("?"));
      nlohmann::json row = {{"zone", zone}, {"node", name}, {"mode", mode}};
      nlohmann::json& sum = zones[zone];
      if (sum.is_null()) sum = {{"zone", zone}, {"nodes", 0}};
      sum["nodes"] = sum["nodes"].get<int64_t>() + 1;
      for (const char* key : kLimitCounts) {
        row[key] = Int(l, key);
        sum[key] = Int(sum, key) + Int(l, key);
      }
      row["keys"] = Int(l, "keys");
      sum["keys"] = Int(sum, "keys") + Int(l, "keys");
      modes[zone].insert(mode);
      by_node.push_back(std::move(row));
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  for (auto& [zone, sum] : zones) {
    const std::set<std::string>& m = modes[zone];
    std::string mode;
    for (const std::string& one : m) mode += (mode.empty() ? "" : ", ") + one;
    sum["mode"] = m.size() == 1 ? mode : "mixed: " + mode;
    rows.push_back(std::move(sum));
  }
  return {{"zones", std::move(rows)}, {"by_node", std::move(by_node)}};
}

NginxNodes::RecentBans NginxNodes::ReadRecentBans(RedisConnection& conn, const RedisSchema& schema,
                                                  size_t count) {
  RecentBans out;
  RedisReply log =
      conn.Command({"XREVRANGE", schema.BlacklistLog(), "+", "-", "COUNT", std::to_string(count)});
  ReplyView v = log.view();
  v.ThrowIfError();
  for (size_t i = 0; i < v.size(); ++i) {  // newest first
    ReplyView message = v[i];
    if (!message.is_array() || message.size() < 2 || !message[1].is_array()) continue;
    ReplyView fields = message[1];
    std::string_view op, entry, value;
    int64_t seq = 0;
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (!fields[f].is_string() || !fields[f + 1].is_string()) continue;
      const std::string_view name = fields[f].str();
      if (name == "seq") {
        seq = std::strtoll(std::string(fields[f + 1].str()).c_str(), nullptr, 10);
      } else if (name == "op") {
        op = fields[f + 1].str();
      } else if (name == "entry") {
        entry = fields[f + 1].str();
      } else if (name == "value") {
        value = fields[f + 1].str();
      }
    }
    if (seq <= 0) continue;  // malformed: skipped, as the nodes skip it
    out.oldest_seq = out.oldest_seq == 0 ? seq : std::min(out.oldest_seq, seq);
    if (op != "add" || out.by_entry.count(std::string(entry))) continue;  // a newer one counts
    std::string error;
    auto decoded = BlacklistEntry::Decode(entry, value, &error);
    if (!decoded) continue;
    out.by_entry[decoded->cidr.ToString()] = {seq, decoded->added_ms};
  }
  return out;
}

void NginxNodes::MarkReach(nlohmann::json& ban_rows, const nlohmann::json& nodes,
                           const RecentBans& recent) {
  struct Node {
    int64_t seq;
    int64_t clock_offset_ms;
    std::unordered_map<int64_t, int64_t> applied;  // seq -> when, on the node's clock
  };
  std::vector<Node> reporting;
  for (const nlohmann::json& n : nodes) {
    if (n.value("state", std::string()) == "down" || !n.contains("blacklist") ||
        !n["blacklist"].is_object()) {
      continue;
    }
    Node node{Int(n["blacklist"], "seq"), Int(n, "clock_offset_ms"), {}};
    if (n.contains("applied") && n["applied"].is_array()) {
      for (const nlohmann::json& a : n["applied"]) {
        if (a.is_array() && a.size() == 2 && a[0].is_number_integer() && a[1].is_number_integer()) {
          node.applied[a[0].get<int64_t>()] = a[1].get<int64_t>();
        }
      }
    }
    reporting.push_back(std::move(node));
  }
  for (nlohmann::json& row : ban_rows) {
    const std::string entry = row.value("entry", std::string());
    auto it = recent.by_entry.find(entry);
    int64_t reached = 0;
    std::vector<int64_t> times;
    for (const Node& node : reporting) {
      if (it == recent.by_entry.end()) {
        // Older than the changes read: a node past all of them has it (when is forgotten).
        if (recent.oldest_seq > 0 && node.seq >= recent.oldest_seq - 1) ++reached;
        continue;
      }
      if (node.seq < it->second.seq) continue;
      ++reached;
      auto at = node.applied.find(it->second.seq);
      if (at != node.applied.end()) {
        // On Redis's clock, as the ban's added time; a clock that drifted since gives 0.
        times.push_back(
            std::max<int64_t>(0, at->second + node.clock_offset_ms - it->second.added_ms));
      }
    }
    std::sort(times.begin(), times.end());
    row["seq"] =
        it == recent.by_entry.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second.seq);
    row["nodes_reached"] = reached;
    row["nodes_of"] = reporting.size();
    row["nodes_timed"] = times.size();
    row["median_ms"] =
        times.empty() ? nlohmann::json(nullptr) : nlohmann::json(times[(times.size() - 1) / 2]);
    row["slowest_ms"] = times.empty() ? nlohmann::json(nullptr) : nlohmann::json(times.back());
  }
}

}  // namespace warden
