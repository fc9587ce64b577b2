#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cache/cache_config.h"
#include "common/clock.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/redis/redis_connection.h"

namespace warden {

// XFetch (Vattani, Chierichetti, Lowenstein: "Optimal Probabilistic Cache Stampede
// Prevention", VLDB 2015): recompute a value early, with a probability that grows as its expiry
// nears and with how long it takes to compute: refresh when
//     delta * beta * -ln(u) >= ttl_remaining      (u uniform in (0, 1])
// `delta_ms` is the last compute time, `ttl_remaining_ms` what is left of the key's TTL.
bool XFetchShouldRefresh(double delta_ms, double beta, int64_t ttl_remaining_ms, double u);

// The strong ETag of a body: "\"" + the first 128 bits of its SHA-256 in hex + "\"".
std::string StrongEtag(const std::string& body);

// Keeps [[cache]] entries warm in Redis (docs/cache.md). Each value is a Redis hash at the
// entry's key, written whole by one script (readers never see half a value):
//   body          the JSON document: an array with one object per row (UTF-8)
//   etag          "\"<hex>\"", a strong ETag derived from body (quotes included)
//   computed_at   when it was computed, Unix ms
//   content_type  application/json
//   delta         how long the query took, ms (XFetch's delta)
//   rows, ttl     the row count and the TTL it was stored with, ms
// and the key expires with PEXPIRE after the entry's ttl. Recomputing takes the lock
// <key>:lock (SET NX PX lock_ttl, with a random token): one sidecar computes while every other
// one, and every reader, keeps the old value. A missing value is waited for, not computed twice.
class CacheWarmer {
 public:
  struct Result {
    std::string name;
    std::string key;
    // "computed", "fresh" (still good, XFetch said wait), "locked" (another sidecar is
    // recomputing; the old value stays), "waited" (missing, another sidecar computed it).
    std::string outcome;
    int64_t delta_ms = 0;
    int64_t ttl_ms = 0;  // what is left of the key's TTL, or the full TTL when computed
    int64_t rows = 0;
    int64_t bytes = 0;
    std::string etag;
    nlohmann::json ToJson() const;
  };

  using MysqlSource = std::function<MysqlConnection&()>;

  CacheWarmer(RedisConnection& redis, MysqlSource mysql, Clock clock = SystemNowMs,
              std::function<double()> random = nullptr);

  // Warms one entry: recomputes it if missing, if `force`, or if XFetch says so.
  // Throws UsageError for a bad query, MysqlError/RedisError for the servers.
  Result Warm(const CacheSpec& spec, bool force);

  // The stored value as a JSON object (fields above, plus ttl_ms left), or nullopt if missing.
  static std::optional<nlohmann::json> Read(RedisConnection& redis, const CacheSpec& spec);

 private:
  Result Compute(const CacheSpec& spec, const std::string& token);
  // The key's warm lock (RedisSchema::CacheLock: in its slot in a cluster).
  std::string LockKey(const CacheSpec& spec) const;
  bool TryLock(const CacheSpec& spec, const std::string& token);
  void Unlock(const CacheSpec& spec, const std::string& token);
  std::string NewToken();

  RedisConnection& redis_;
  MysqlSource mysql_;
  Clock clock_;
  std::function<double()> random_;
};

}  // namespace warden
