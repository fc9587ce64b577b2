#include "config/settings.h"

#include <sys/stat.h>

#include "base/errors.h"
#include "config/config_file.h"

namespace warden {

namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

RedisDeployment ParseUrlOrThrow(const std::string& text, const std::string& origin) {
  std::string error;
  auto url = RedisDeployment::Parse(text, &error);
  if (!url) throw UsageError(origin + ": " + error);
  return *url;
}

MysqlUrl ParseMysqlUrlOrThrow(const std::string& text, const std::string& origin) {
  std::string error;
  auto url = MysqlUrl::Parse(text, &error);
  if (!url) throw UsageError(origin + ": " + error);
  return *url;
}

}  // namespace

const MysqlUrl& Settings::RequireMysql() const {
  if (!mysql_) {
    throw UsageError(
        "no MariaDB/MySQL database configured: pass --mysql mysql://user:password@host/db, "
        "set WARDEN_MYSQL, or set url in the [mysql] table of the config file");
  }
  return *mysql_;
}

std::string Settings::LocateConfig(const SettingsFlags& flags, const Environment& env,
                                   const std::string& default_config_path) {
  if (flags.config) return *flags.config;
  if (auto path = env.Get("WARDEN_CONFIG")) return *path;
  if (!default_config_path.empty() && FileExists(default_config_path)) return default_config_path;
  return "";
}

Settings Settings::Resolve(const SettingsFlags& flags, const Environment& env,
                           const std::string& default_config_path) {
  Settings settings;
  settings.config_path_ = LocateConfig(flags, env, default_config_path);
  std::optional<ConfigFile> file;
  if (!settings.config_path_.empty()) file = ConfigFile::Load(settings.config_path_);

  if (flags.redis) {
    settings.redis_ = ParseUrlOrThrow(*flags.redis, "--redis");
    settings.redis_origin_ = "--redis";
  } else if (auto text = env.Get("WARDEN_REDIS")) {
    settings.redis_ = ParseUrlOrThrow(*text, "WARDEN_REDIS");
    settings.redis_origin_ = "WARDEN_REDIS";
  } else if (file && file->redis_url()) {
    settings.redis_ = *file->redis_url();
    settings.redis_origin_ = file->path();
  } else {
    settings.redis_ = ParseUrlOrThrow(kDefaultRedis, "default");
    settings.redis_origin_ = "default";
  }

  if (flags.mysql) {
    settings.mysql_ = ParseMysqlUrlOrThrow(*flags.mysql, "--mysql");
    settings.mysql_origin_ = "--mysql";
  } else if (auto text = env.Get("WARDEN_MYSQL")) {
    settings.mysql_ = ParseMysqlUrlOrThrow(*text, "WARDEN_MYSQL");
    settings.mysql_origin_ = "WARDEN_MYSQL";
  } else if (file && file->mysql_url()) {
    settings.mysql_ = *file->mysql_url();
    settings.mysql_origin_ = file->path();
  }

  std::string error;
  if (flags.prefix) {
    if (!ConfigFile::ValidPrefix(*flags.prefix, &error)) throw UsageError("--prefix: " + error);
    settings.prefix_ = *flags.prefix;
  } else if (file && file->prefix()) {
    settings.prefix_ = *file->prefix();
  } else {
    settings.prefix_ = kDefaultPrefix;
  }
  if (!RedisSchema::CheckPrefix(settings.prefix_, settings.schema().layout(), &error)) {
    throw UsageError("prefix \"" + settings.prefix_ + "\": " + error);
  }

  if (flags.timeout) {
    auto ms = ConfigFile::ParseTimeout(*flags.timeout, &error);
    if (!ms) throw UsageError("--timeout: " + error);
    settings.timeout_ms_ = *ms;
  } else if (settings.redis_.timeout_given) {
    settings.timeout_ms_ = settings.redis_.timeout_ms;  // timeout= in the URL in use
  } else if (file && file->timeout_ms()) {
    settings.timeout_ms_ = *file->timeout_ms();
  }
  return settings;
}

}  // namespace warden
