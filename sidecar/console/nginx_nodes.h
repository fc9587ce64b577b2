#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"

namespace warden {

// The fleet's nginx nodes as the console shows them, from the heartbeats their leader workers
// write (`ng:node:NAME`, JSON, expires after 15 s; `ng:nodes`, each name scored by its last
// beat on Redis's clock; ngx_module/core/node_report.h): the nodes panel's rows, the rate-limit
// zones summed over the nodes, and how far and how fast each ban got.
class NginxNodes {
 public:
  static constexpr int64_t kStaleMs = 5000;
  static constexpr int64_t kDownMs = 15000;  // the report expires then
  // The blacklist changes read back (XREVRANGE) to learn the bans' sequence numbers.
  static constexpr size_t kLogChanges = 1000;

  // Every nginx node seen in the last day: its report, plus "node", "role" ("nginx"),
  // "last_seen" (ISO), "age_ms", "state" (up, stale, down) and, for the table, "behind"
  // (`bl_seq` minus the node's blacklist version), "sync_lag_ms", "shm_use_pct" and
  // "shm_fullest" (its fullest zone), "redis" ("ok", or what failed). A report that is not
  // JSON is shown as the name alone.
  static nlohmann::json Read(RedisConnection& conn, const RedisSchema& schema, int64_t now_ms,
                             int64_t bl_seq);

  // The rate-limit zones of the nodes that report: {"zones": one row per zone, summed, with
  // "nodes" and "mode" ("mixed: ..." when the nodes disagree), "by_node": one row per node and
  // zone, with "node"}. Counts are the nodes' totals since each started.
  static nlohmann::json Limits(const nlohmann::json& nodes);

  // A ban's latest addition in the change stream: its sequence number and when Redis had it.
  struct Added {
    int64_t seq = 0;
    int64_t added_ms = 0;
  };
  struct RecentBans {
    std::unordered_map<std::string, Added> by_entry;
    int64_t oldest_seq = 0;  // of the changes read (0: none read)
  };
  static RecentBans ReadRecentBans(RedisConnection& conn, const RedisSchema& schema,
                                   size_t count = kLogChanges);

  // Adds to each ban row (with "entry") how many of the nodes that report have it
  // ("nodes_reached" of "nodes_of": their blacklist version is at least the ban's), and how
  // long it took them, from the ban's addition to when each node applied it ("median_ms",
  // "slowest_ms" over the "nodes_timed" nodes that still remember when; null for none). A ban
  // older than the changes read counts as reached by the nodes past them, untimed.
  static void MarkReach(nlohmann::json& ban_rows, const nlohmann::json& nodes,
                        const RecentBans& recent);
};

}  // namespace warden
