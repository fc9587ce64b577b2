#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_script.h"

namespace warden {

// The fleet's traffic as the nginx nodes flush it to Redis (`top:<family>:<minute>`, summed
// over the nodes, kept 2 h; docs/redis-keys.md): what `warden top` prints and the console
// shows.
class TrafficReport {
 public:
  enum class By { kAddress, kCountry, kPath, kStatus };
  struct Row {
    std::string name;  // the address, the country code ("-": unknown), the path or "4xx"
    int64_t requests = 0;
    int64_t refused = 0;    // blocked or limited (by address and country)
    std::string country;    // by address: its country ("" unknown)
    int64_t addresses = 0;  // by country: how many addresses
    // by address and country: responses per status class; by path: 5xx only
    int64_t status[4] = {};   // 2xx, 3xx, 4xx, 5xx
    int64_t bytes = 0;        // by address and country
    int64_t upstream_ms = 0;  // by address, country and path
    // By address: its distinct paths (DistinctPaths' estimate; -1: none counted, which a node
    // older than the sketches sends), at least that many when saturated; its most requested
    // path and most frequent user agent ("" unknown); its highest autoban strike count.
    int64_t distinct_paths = -1;
    bool distinct_paths_saturated = false;
    std::string top_path{};
    std::string user_agent{};
    int64_t strikes = 0;
  };
  // "address" (or "ip"), "country", "path", "status"; nullopt for anything else.
  static std::optional<By> ParseBy(const std::string& by);
  static const char* Name(By by);
  // How the fleet's requests were decided (kSeries: the decisions, stacked in the console's
  // chart, then the 4xx and 5xx responses), from the nodes' "d:<decision>" and status totals
  // in top:sum: pass (what no other decision took), blacklist (block minus country and
  // autoban), country, autoban, limited (limit), challenge, dry_run (with limit_dry_run).
  static constexpr size_t kDecisionSeries = 7;
  static constexpr size_t kSeries = kDecisionSeries + 2;
  static constexpr const char* kSeriesNames[kSeries] = {
      "pass", "blacklist", "country", "autoban", "limited", "challenge", "dry_run", "4xx", "5xx"};
  // One minute (or second) of the whole fleet.
  struct Minute {
    int64_t minute = 0;  // Unix seconds / 60
    int64_t requests = 0;
    int64_t refused = 0;
    // false: the nodes sent no decisions (nodes, or a point, from before the breakdown)
    bool detailed = false;
    std::array<int64_t, kSeries> series{};
  };

  // Nodes keep per-minute counts for two hours (TrafficCounter::kRetentionMs).
  static constexpr int64_t kMaxWindowMinutes = 120;

  // `schema`: the deployment's names (RedisSchema::For); every read stays within one minute's
  // keys, which share a slot in a cluster.
  TrafficReport(RedisConnection& conn, RedisSchema schema);

  // "5m" → 5; throws UsageError naming `what` ("--window") for a bad or too long window.
  static int64_t WindowMinutes(const std::string& window, const std::string& what);

  // Redis's clock, in whole minutes.
  int64_t ServerMinute();
  // The `limit` busiest addresses (or countries) of the last `minutes` minutes, busiest first.
  std::vector<Row> Top(int64_t minutes, By by, size_t limit);
  // The fleet's totals of minutes first..last (oldest first; a minute nobody counted is 0).
  std::vector<Minute> Minutes(int64_t first, int64_t last);

  // By address: {address, country (or null), requests, refused, status: {2xx..5xx}, bytes,
  // upstream_ms, distinct_paths (or null), distinct_paths_saturated, top_path (or null),
  // user_agent (or null), strikes}; by country the same with {country, addresses}; by path {path,
  // requests, 5xx, upstream_ms}; by status {status, requests}.
  static nlohmann::json ToJson(const std::vector<Row>& rows, By by);

 private:
  std::string Key(const char* family, int64_t minute) const;
  // A family's sorted sets of minutes first..last summed (ZRANGE of each, pipelined).
  std::map<std::string, double> Summed(const char* family, int64_t first, int64_t last);
  // Reads the rows' distinct paths, top path, user agent and strikes over minutes first..last.
  void AddProfiles(std::vector<Row>& rows, int64_t first, int64_t last);

  RedisConnection& conn_;
  RedisSchema schema_;
  RedisScript sum_script_;
};

}  // namespace warden
