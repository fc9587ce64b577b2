#include "cli/top_command.h"

#include <algorithm>
#include <iomanip>

#include "base/errors.h"
#include "traffic/traffic_report.h"

namespace warden {

namespace {

void PrintTable(const std::vector<TrafficReport::Row>& rows, bool by_country, std::ostream& out) {
  size_t width = 7;
  for (auto& r : rows) width = std::max(width, r.name.size());
  out << std::left << std::setw(static_cast<int>(width) + 2) << (by_country ? "COUNTRY" : "ADDRESS")
      << std::right << std::setw(10) << "REQUESTS" << std::setw(10) << "REFUSED"
      << "  " << (by_country ? "ADDRESSES" : "COUNTRY") << '\n';
  for (auto& r : rows) {
    out << std::left << std::setw(static_cast<int>(width) + 2) << r.name << std::right
        << std::setw(10) << r.requests << std::setw(10) << r.refused << "  "
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
  const int64_t minutes = TrafficReport::WindowMinutes(window_, "--window");
  const auto by = by_ == "country" ? TrafficReport::By::kCountry : TrafficReport::By::kAddress;
  RedisConnection conn = ctx_.Connect();
  TrafficReport report(conn, ctx_.settings().prefix());
  std::vector<TrafficReport::Row> rows = report.Top(minutes, by, limit_);
  if (json_) {
    ctx_.out() << TrafficReport::ToJson(rows, by).dump(2) << '\n';
  } else {
    PrintTable(rows, by == TrafficReport::By::kCountry, ctx_.out());
  }
  return kExitOk;
}

}  // namespace warden
