#include "cli/behaviour_command.h"

#include <algorithm>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/errors.h"
#include "storage/redis/redis_connection.h"

namespace warden {

namespace {

struct HotRow {
  std::string rule;
  std::string scope;
  std::string node;
  double fill = 0;
};

}  // namespace

BehaviourCommand::BehaviourCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("behaviour", "Look at the warden_behaviour rules of the fleet");
  app_->require_subcommand(1);
  status_ = app_->add_subcommand(
      "status", "Show the fullest behaviour buckets across the fleet (fill: level / capacity)");
  status_->add_option("--rule", rule_, "Only this rule");
  status_->add_option("--limit", limit_, "Rows to show (default 20)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  status_->add_flag("--json", json_, "Print a JSON array instead of a table");
}

int BehaviourCommand::Run() {
  RedisConnection conn = ctx_.Connect();
  const std::string prefix = ctx_.schema().BehaviourHot("");
  std::vector<std::string> keys;
  if (!rule_.empty()) {
    keys.push_back(prefix + rule_);
  } else {
    keys = conn.ScanKeys(prefix + "*");  // every primary of a cluster
  }

  std::vector<HotRow> rows;
  for (const std::string& key : keys) {
    RedisReply reply =
        conn.Command({"ZREVRANGE", key, "0", std::to_string(limit_ - 1), "WITHSCORES"});
    ReplyView v = reply.view();
    v.ThrowIfError();
    for (size_t i = 0; i + 1 < v.size(); i += 2) {
      std::string member(v[i].str());
      size_t bar = member.find('|');
      rows.push_back(HotRow{key.substr(prefix.size()), member.substr(0, bar),
                            bar == std::string::npos ? "" : member.substr(bar + 1),
                            std::stod(std::string(v[i + 1].str()))});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const HotRow& a, const HotRow& b) {
    return a.fill != b.fill ? a.fill > b.fill : a.scope < b.scope;
  });
  if (rows.size() > limit_) rows.resize(limit_);

  if (json_) {
    nlohmann::json out = nlohmann::json::array();
    for (const HotRow& r : rows) {
      out.push_back({{"rule", r.rule}, {"scope", r.scope}, {"node", r.node}, {"fill", r.fill}});
    }
    ctx_.out() << out.dump(2) << '\n';
    return kExitOk;
  }
  size_t rule_w = 4, scope_w = 5;
  for (const HotRow& r : rows) {
    rule_w = std::max(rule_w, r.rule.size());
    scope_w = std::max(scope_w, r.scope.size());
  }
  std::ostream& out = ctx_.out();
  out << std::left << std::setw(static_cast<int>(rule_w) + 2) << "RULE"
      << std::setw(static_cast<int>(scope_w) + 2) << "SCOPE" << std::right << std::setw(5) << "FILL"
      << "  NODE\n";
  for (const HotRow& r : rows) {
    out << std::left << std::setw(static_cast<int>(rule_w) + 2) << r.rule
        << std::setw(static_cast<int>(scope_w) + 2) << r.scope << std::right << std::setw(4)
        << static_cast<int>(r.fill * 100 + 0.5) << "%  " << r.node << '\n';
  }
  return kExitOk;
}

}  // namespace warden
