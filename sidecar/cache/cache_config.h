#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/mysql/mysql_value.h"

namespace warden {

// One [[cache]] entry of warden.toml: a query whose result is kept warm in Redis as JSON.
//   [[cache]]
//   name = "top-products"
//   sql = "SELECT id, name, price FROM product WHERE category = ? ORDER BY sales DESC LIMIT ?"
//   params = ["books", 10]              # bound to the ?s, in order (strings, numbers, booleans)
//   key = "warden:cache:top-products"   # the Redis key, as written (no prefix is added)
//   ttl = "5m"
//   refresh = "@every 1m"               # for the daemon: a cache_warm job on this schedule
//   beta = 1.0                          # XFetch: > 1 refreshes earlier, < 1 later
//   lock_ttl = "30s"                    # how long one sidecar may take to recompute
//   max_rows = 10000                    # a larger result is an error, not a huge value
struct CacheSpec {
  std::string name;
  std::string sql;
  std::vector<MysqlValue> params;
  std::string key;
  int64_t ttl_ms = 300000;
  std::string refresh;  // a schedule ("" = only when asked)
  double beta = 1.0;
  int64_t lock_ttl_ms = 30000;
  int64_t max_rows = 10000;
};

struct CacheConfig {
  std::vector<CacheSpec> entries;

  const CacheSpec* Find(std::string_view name) const;

  // The [[cache]] entries of `path` ("" or none: no entries). Throws UsageError naming the
  // file, the line, the entry and the key.
  static CacheConfig Load(const std::string& path);
  // The same from a parsed file (the daemon reads it once for everything).
  static CacheConfig FromToml(const toml::table& root, const std::string& path);
};

}  // namespace warden
