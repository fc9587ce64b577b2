#include "cli/top_command.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "base/duration.h"
#include "base/errors.h"
#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"

namespace warden {

namespace {

// Nodes keep per-minute counts for two hours (TrafficCounter::kRetentionMs).
constexpr int64_t kMaxWindowMinutes = 120;

struct TopRow {
  std::string name;
  double requests = 0;
  double refused = 0;
  std::string country;
  size_t addresses = 0;
};

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

void PrintTable(const std::vector<TopRow>& rows, bool by_country, std::ostream& out) {
  size_t width = by_country ? 7 : 7;
  for (auto& r : rows) width = std::max(width, r.name.size());
  out << std::left << std::setw(static_cast<int>(width) + 2) << (by_country ? "COUNTRY" : "ADDRESS")
      << std::right << std::setw(10) << "REQUESTS" << std::setw(10) << "REFUSED"
      << "  " << (by_country ? "ADDRESSES" : "COUNTRY") << '\n';
  for (auto& r : rows) {
    out << std::left << std::setw(static_cast<int>(width) + 2) << r.name << std::right
        << std::setw(10) << static_cast<long long>(r.requests) << std::setw(10)
        << static_cast<long long>(r.refused) << "  "
        << (by_country ? std::to_string(r.addresses) : (r.country.empty() ? "-" : r.country))
        << '\n';
  }
}

}  // namespace

TopCommand::TopCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("top", "Show who sends the most requests across the fleet");
  app_->add_option("--window", window_, "How far back to look, up to 2h (default 5m)");
  app_->add_option("--limit", limit_, "Rows to show (default 20)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  app_->add_option("--by", by_, "Group by address (ip, default) or country")
      ->check(CLI::IsMember({"ip", "country"}));
  app_->add_flag("--json", json_, "Print a JSON array instead of a table");
}

int TopCommand::Run() {
  std::string error;
  auto window_ms = ParseDurationMs(window_, &error);
  if (!window_ms) throw UsageError("bad --window \"" + window_ + "\": " + error);
  int64_t minutes = (*window_ms + 59999) / 60000;
  if (minutes < 1 || minutes > kMaxWindowMinutes) {
    throw UsageError("bad --window \"" + window_ + "\": nodes keep counts for 1m to 2h");
  }

  RedisConnection conn = ctx_.Connect();
  const std::string prefix = ctx_.settings().prefix();
  RedisReply time = conn.Command({"TIME"});
  time.view().ThrowIfError();
  int64_t now_minute = std::stoll(std::string(time.view()[0].str())) / 60;

  std::vector<std::string> req_keys, ref_keys, cc_keys;
  for (int64_t m = now_minute - minutes + 1; m <= now_minute; ++m) {
    req_keys.push_back(prefix + "top:req:" + std::to_string(m));
    ref_keys.push_back(prefix + "top:ref:" + std::to_string(m));
    cc_keys.push_back(prefix + "top:cc:" + std::to_string(m));
  }
  // Sum the minutes in Redis; the scratch keys vanish on their own if we die here.
  std::mt19937_64 rng(std::random_device{}());
  std::string tmp = prefix + "top:tmp:" + std::to_string(rng());
  auto union_into = [&](const std::string& dest, const std::vector<std::string>& keys) {
    std::vector<std::string> args = {"ZUNIONSTORE", dest, std::to_string(keys.size())};
    args.insert(args.end(), keys.begin(), keys.end());
    conn.Command(args).view().ThrowIfError();
    conn.Command({"EXPIRE", dest, "30"});
  };
  union_into(tmp + ":req", req_keys);
  union_into(tmp + ":ref", ref_keys);
  std::map<std::string, double> requests = Scores(conn, tmp + ":req");
  std::map<std::string, double> refused = Scores(conn, tmp + ":ref");
  conn.Command({"DEL", tmp + ":req", tmp + ":ref"});

  // The newest minute that saw an address knows its country.
  std::map<std::string, std::string> country;
  for (auto it = cc_keys.rbegin(); it != cc_keys.rend(); ++it) {
    RedisReply all = conn.Command({"HGETALL", *it});
    ReplyView v = all.view();
    v.ThrowIfError();
    for (size_t i = 0; i + 1 < v.size(); i += 2) {
      country.emplace(std::string(v[i].str()), std::string(v[i + 1].str()));
    }
  }

  std::vector<TopRow> rows;
  bool by_country = by_ == "country";
  if (by_country) {
    std::map<std::string, TopRow> groups;
    for (auto& [addr, n] : requests) {
      auto cc = country.count(addr) ? country[addr] : "-";
      TopRow& r = groups[cc];
      r.name = cc;
      r.requests += n;
      r.refused += refused.count(addr) ? refused[addr] : 0;
      r.addresses++;
    }
    for (auto& [cc, r] : groups) rows.push_back(r);
  } else {
    for (auto& [addr, n] : requests) {
      rows.push_back(TopRow{addr, n, refused.count(addr) ? refused[addr] : 0,
                            country.count(addr) ? country[addr] : "", 0});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const TopRow& a, const TopRow& b) {
    return a.requests != b.requests ? a.requests > b.requests : a.name < b.name;
  });
  if (rows.size() > limit_) rows.resize(limit_);

  if (json_) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& r : rows) {
      nlohmann::json j;
      if (by_country) {
        j["country"] = r.name;
        j["addresses"] = r.addresses;
      } else {
        j["address"] = r.name;
        j["country"] = r.country.empty() ? nlohmann::json() : nlohmann::json(r.country);
      }
      j["requests"] = static_cast<long long>(r.requests);
      j["refused"] = static_cast<long long>(r.refused);
      out.push_back(j);
    }
    ctx_.out() << out.dump(2) << '\n';
  } else {
    PrintTable(rows, by_country, ctx_.out());
  }
  return kExitOk;
}

}  // namespace warden
