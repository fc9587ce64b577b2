#include "cli/top_command.h"

#include <algorithm>
#include <iomanip>

#include "base/errors.h"
#include "traffic/traffic_report.h"

namespace warden {

namespace {

// A long path or user agent, cut for a terminal's table (--json has them whole).
std::string Cut(const std::string& text, size_t max) {
  if (text.empty()) return "-";
  return text.size() <= max ? text : text.substr(0, max - 3) + "...";
}

std::string DistinctPathsText(const TrafficReport::Row& r) {
  if (r.distinct_paths < 0) return "-";
  return std::to_string(r.distinct_paths) + (r.distinct_paths_saturated ? "+" : "");
}

void PrintTable(const std::vector<TrafficReport::Row>& rows, TrafficReport::By by,
                std::ostream& out) {
  using By = TrafficReport::By;
  size_t width = 7;
  for (auto& r : rows) width = std::max(width, r.name.size());
  auto name = [&](const std::string& text) {
    out << std::left << std::setw(static_cast<int>(width) + 2) << text << std::right;
  };
  if (by == By::kStatus) {
    name("STATUS");
    out << std::setw(10) << "REQUESTS" << '\n';
    for (auto& r : rows) {
      name(r.name);
      out << std::setw(10) << r.requests << '\n';
    }
    return;
  }
  if (by == By::kPath) {
    name("PATH");
    out << std::setw(10) << "REQUESTS" << std::setw(8) << "5XX" << std::setw(12) << "UPSTREAM_MS"
        << '\n';
    for (auto& r : rows) {
      name(r.name);
      out << std::setw(10) << r.requests << std::setw(8) << r.status[3] << std::setw(12)
          << r.upstream_ms << '\n';
    }
    return;
  }
  name(by == By::kCountry ? "COUNTRY" : "ADDRESS");
  out << std::setw(10) << "REQUESTS" << std::setw(10) << "REFUSED" << std::setw(8) << "4XX"
      << std::setw(8) << "5XX" << std::setw(12) << "UPSTREAM_MS"
      << "  " << (by == By::kCountry ? "ADDRESSES" : "COUNTRY");
  if (by == By::kAddress)
    out << std::setw(7) << "PATHS" << std::setw(9) << "STRIKES"
        << "  " << std::left << std::setw(32) << "TOP_PATH" << std::right << "USER_AGENT";
  out << '\n';
  for (auto& r : rows) {
    name(r.name);
    out << std::setw(10) << r.requests << std::setw(10) << r.refused << std::setw(8) << r.status[2]
        << std::setw(8) << r.status[3] << std::setw(12) << r.upstream_ms << "  ";
    if (by == By::kCountry) {
      out << r.addresses << '\n';
      continue;
    }
    out << std::left << std::setw(7) << (r.country.empty() ? "-" : r.country) << std::right
        << std::setw(7) << DistinctPathsText(r) << std::setw(9) << r.strikes << "  " << std::left
        << std::setw(32) << Cut(r.top_path, 30) << std::right << Cut(r.user_agent, 40) << '\n';
  }
}

}  // namespace

TopCommand::TopCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("top", "Show who sends the most requests across the fleet");
  app_->add_option("--window", window_, "How far back to look, up to 2h (default 5m)");
  app_->add_option("--limit", limit_, "Rows to show (default 20)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  app_->add_option("--by", by_,
                   "Group by address (ip, default), country, path (as clients asked for it) or "
                   "status class")
      ->check(CLI::IsMember({"ip", "address", "country", "path", "status"}));
  app_->add_flag("--json", json_, "Print a JSON array instead of a table");
}

int TopCommand::Run() {
  const int64_t minutes = TrafficReport::WindowMinutes(window_, "--window");
  const auto by = TrafficReport::ParseBy(by_).value_or(TrafficReport::By::kAddress);
  RedisConnection conn = ctx_.Connect();
  TrafficReport report(conn, ctx_.schema());
  std::vector<TrafficReport::Row> rows = report.Top(minutes, by, limit_);
  if (json_) {
    ctx_.out() << TrafficReport::ToJson(rows, by).dump(2) << '\n';
  } else {
    PrintTable(rows, by, ctx_.out());
  }
  return kExitOk;
}

}  // namespace warden
