#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"

namespace warden {

// The sidecars of the fleet, by their heartbeats in Redis (`sc:node:NAME`, a JSON object that
// expires after kTtlMs; `sc:nodes`, each name scored by its last heartbeat, forgotten after a
// day). nginx nodes beat under their own keys (console/nginx_nodes.h).
class NodeRegistry {
 public:
  static constexpr int64_t kTtlMs = 15000;
  static constexpr int64_t kStaleMs = 5000;
  static constexpr int64_t kForgetMs = 24 * 3600 * 1000;

  NodeRegistry(RedisConnection& conn, RedisSchema schema)
      : conn_(conn), schema_(std::move(schema)) {}

  // This sidecar is alive at `now_ms` (Redis's clock), with `fields` to show.
  void Beat(const std::string& node, int64_t now_ms, nlohmann::json fields);
  // Every sidecar seen in the last day, by name: its fields plus "node", "last_seen" (ISO),
  // "age_ms" and "state" (up, stale: no beat for kStaleMs, down: no beat for kTtlMs).
  nlohmann::json Read(int64_t now_ms);

 private:
  RedisConnection& conn_;
  RedisSchema schema_;
};

}  // namespace warden
