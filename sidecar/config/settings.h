#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/environment.h"
#include "common/redis_deployment.h"
#include "common/redis_schema.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

// Connection settings from the command line; unset flags are nullopt.
struct SettingsFlags {
  std::optional<std::string> redis;    // --redis URL
  std::optional<std::string> mysql;    // --mysql URL
  std::optional<std::string> prefix;   // --prefix
  std::optional<std::string> timeout;  // --timeout
  std::optional<std::string> config;   // --config PATH
};

// The settings a command runs with. Each comes from the first of: a flag, the environment
// (WARDEN_REDIS, WARDEN_MYSQL), the config file, the default (MariaDB has none). The config
// file is --config, else WARDEN_CONFIG (both must exist), else /etc/warden/warden.toml if it
// exists.
class Settings {
 public:
  static constexpr const char* kDefaultConfigPath = "/etc/warden/warden.toml";
  static constexpr const char* kDefaultPrefix = "warden:";
  static constexpr const char* kDefaultRedis = "redis://127.0.0.1:6379/0";
  static constexpr int64_t kDefaultTimeoutMs = 2000;

  // Throws UsageError for a bad flag, variable or config file.
  static Settings Resolve(const SettingsFlags& flags, const Environment& env,
                          const std::string& default_config_path = kDefaultConfigPath);

  // The config file that applies, or "" when there is none.
  static std::string LocateConfig(const SettingsFlags& flags, const Environment& env,
                                  const std::string& default_config_path = kDefaultConfigPath);

  const RedisDeployment& redis() const { return redis_; }
  // Where the Redis URL came from: "--redis", "WARDEN_REDIS", the config path, or "default".
  const std::string& redis_origin() const { return redis_origin_; }
  // The MariaDB/MySQL URL, if one is set anywhere; a bad one is a UsageError in Resolve even for
  // commands that do not use it.
  const std::optional<MysqlUrl>& mysql() const { return mysql_; }
  // The URL, or UsageError("no MariaDB/MySQL database configured: ...") for commands that need it.
  const MysqlUrl& RequireMysql() const;
  // Where it came from: "--mysql", "WARDEN_MYSQL", the config path, or "" when unset.
  const std::string& mysql_origin() const { return mysql_origin_; }
  const std::string& prefix() const { return prefix_; }
  // The key names for this deployment and prefix (hash tags with cluster://).
  RedisSchema schema() const { return RedisSchema::For(redis_, prefix_); }
  int64_t timeout_ms() const { return timeout_ms_; }
  const std::string& config_path() const { return config_path_; }

 private:
  RedisDeployment redis_;
  std::string redis_origin_;
  std::optional<MysqlUrl> mysql_;
  std::string mysql_origin_;
  std::string prefix_;
  int64_t timeout_ms_ = kDefaultTimeoutMs;
  std::string config_path_;
};

}  // namespace warden
