#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/redis_deployment.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

// The sidecar's TOML configuration file. The [redis] and [mysql] tables are read for now:
//   [redis]
//   url = "redis://127.0.0.1:6379/0"   # any deployment: unix:///path, rediss://, sentinel://
//                                     # (common/redis_deployment.h)
//   prefix = "warden:"
//   timeout = "2s"                    # connect and command timeout
//   [mysql]
//   url = "mysql://warden:secret@127.0.0.1:3306/warden"   # or "mysql://u:p@/db?socket=/path"
// Other tables are left to the parts of Warden that own them.
class ConfigFile {
 public:
  // Reads and validates `path`. Throws UsageError with one line, "PATH: redis.url: reason" or
  // "PATH:LINE:COLUMN: syntax error", when the file is unreadable or invalid.
  static ConfigFile Load(const std::string& path);

  const std::string& path() const { return path_; }
  const std::optional<RedisDeployment>& redis_url() const { return redis_url_; }
  const std::optional<MysqlUrl>& mysql_url() const { return mysql_url_; }
  const std::optional<std::string>& prefix() const { return prefix_; }
  const std::optional<int64_t>& timeout_ms() const { return timeout_ms_; }

  // Shared with the command-line flags so both reject the same values.
  static bool ValidPrefix(const std::string& prefix, std::string* error);
  static std::optional<int64_t> ParseTimeout(const std::string& text, std::string* error);

 private:
  std::string path_;
  std::optional<RedisDeployment> redis_url_;
  std::optional<MysqlUrl> mysql_url_;
  std::optional<std::string> prefix_;
  std::optional<int64_t> timeout_ms_;
};

}  // namespace warden
