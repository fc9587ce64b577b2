#include "core/node_report.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace warden {

const char* NodeReport::LimitOutcomeName(size_t outcome) {
  static const char* const kNames[] = {"passed",  "delayed",   "rejected",
                                       "dry_run", "fail_open", "fail_closed"};
  static_assert(sizeof kNames / sizeof *kNames == kLimitOutcomes);
  return outcome < kLimitOutcomes ? kNames[outcome] : "unknown";
}

std::string NodeReport::ToJson() const {
  using nlohmann::json;
  json bl = nullptr;
  if (blacklist.present) {
    bl = {{"seq", blacklist.seq},
          {"entries", blacklist.entries},
          {"capacity", blacklist.capacity},
          {"dropped", blacklist.dropped},
          {"epoch", blacklist.epoch},
          {"loaded", blacklist.loaded},
          {"reload_held", blacklist.reload_held},
          {"loaded_at_ms", blacklist.loaded_at_ms},
          // Since Redis last answered the sync: -1 while it never has.
          {"sync_lag_ms", blacklist.last_contact_ms
                              ? std::max<int64_t>(0, now_ms - blacklist.last_contact_ms)
                              : -1}};
  }
  json ring = json::array();
  for (const Applied& a : applied) ring.push_back({a.seq, a.at_ms});
  json zones = json::array();
  for (const SharedZone& z : shm) {
    zones.push_back(
        {{"zone", z.name}, {"used", z.used}, {"capacity", z.capacity}, {"bytes", z.bytes}});
  }
  json connections = json::array();
  for (const Connection& c : redis) {
    connections.push_back({{"purpose", c.purpose},
                           {"ok", c.connected},
                           {"errors", c.errors},
                           {"last_error", c.last_error},
                           {"last_error_ms", c.last_error_ms}});
  }
  json limit_rows = json::array();
  for (const Limit& l : limits) {
    json row = {{"zone", l.zone}, {"mode", l.mode}, {"keys", l.keys}};
    for (size_t o = 0; o < kLimitOutcomes; ++o) row[LimitOutcomeName(o)] = l.counts[o];
    limit_rows.push_back(std::move(row));
  }
  json decision_totals = json::object();
  for (const auto& [name, count] : decisions) decision_totals[name] = count;
  json report = {{"role", "nginx"},
                 {"node", node},
                 {"pid", pid},
                 {"nginx_version", nginx_version},
                 {"workers", workers},
                 {"started_ms", started_ms},
                 {"sent_ms", now_ms},
                 {"clock_offset_ms", clock_offset_ms},
                 {"blacklist", std::move(bl)},
                 {"applied", std::move(ring)},
                 {"shm", std::move(zones)},
                 {"redis", std::move(connections)},
                 {"limits", std::move(limit_rows)},
                 {"decisions", std::move(decision_totals)}};
  return report.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<NodeReport::Applied> AppliedRing::Read() const {
  std::vector<NodeReport::Applied> out;
  const size_t n = next_ < ring_.size() ? next_ : ring_.size();
  out.reserve(n);
  for (size_t i = next_ - n; i < next_; ++i) out.push_back(ring_[i % ring_.size()]);
  return out;
}

}  // namespace warden
