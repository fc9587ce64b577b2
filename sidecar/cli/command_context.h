#pragma once

#include <istream>
#include <optional>
#include <ostream>
#include <string>

#include "base/environment.h"
#include "common/redis_schema.h"
#include "config/settings.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/redis/redis_connection.h"

namespace warden {

// What every command needs: the global flags, the environment, the output streams, and the
// settings and Redis connection derived from them (resolved on first use, so commands that do
// not talk to Redis never fail on Redis settings).
class CommandContext {
 public:
  CommandContext(Environment env, std::istream& in, std::ostream& out, std::ostream& err,
                 std::string default_config_path = Settings::kDefaultConfigPath)
      : env_(std::move(env)),
        in_(in),
        out_(out),
        err_(err),
        default_config_path_(std::move(default_config_path)) {}

  SettingsFlags& flags() { return flags_; }
  const Environment& env() const { return env_; }
  std::istream& in() { return in_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  const std::string& default_config_path() const { return default_config_path_; }

  // Throws UsageError for bad settings.
  const Settings& settings();
  // Throws UsageError for bad settings, RedisConnectError when Redis cannot be reached.
  RedisConnection Connect();
  // Throws UsageError for bad settings or when no MariaDB URL is configured, MysqlConnectError
  // when it cannot be reached. --timeout is the connect timeout.
  MysqlConnection ConnectMysql();
  RedisSchema schema() { return settings().schema(); }

  // "warden: <message>" on stderr.
  void Warn(const std::string& message) { err_ << "warden: " << message << '\n'; }

 private:
  Environment env_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  std::string default_config_path_;
  SettingsFlags flags_;
  std::optional<Settings> settings_;
};

}  // namespace warden
