#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"

namespace warden {

// What the sidecars have seen of a Sentinel deployment's primary, kept in Redis itself (and so
// replicated with it): the primary last found, and the last change of primary. A sidecar notes
// the primary after each connection through Sentinel; the first one to reach a new primary
// records the failover. Only what some sidecar saw: a failover no sidecar connected across
// leaves no record, and the time is when it was noticed, not when Sentinel switched.
class PrimaryRecord {
 public:
  struct Failover {
    std::string from;
    std::string to;
    int64_t at_ms = 0;  // Redis's clock when a sidecar first reached `to`
  };

  // After connecting through Sentinel: records conn.endpoint() as the primary; returns the
  // failover when it differs from the one recorded. Nothing for other deployments. One GET
  // when nothing changed. Throws RedisError.
  static std::optional<Failover> Note(RedisConnection& conn, const RedisSchema& schema);
  // The last failover recorded, if any. Throws RedisError; a record that does not parse is none.
  static std::optional<Failover> Last(RedisConnection& conn, const RedisSchema& schema);
};

}  // namespace warden
