#include "cli/command_context.h"

namespace warden {

const Settings& CommandContext::settings() {
  if (!settings_) settings_ = Settings::Resolve(flags_, env_, default_config_path_);
  return *settings_;
}

RedisConnection CommandContext::Connect() {
  const Settings& s = settings();
  return RedisConnection::Connect(s.redis(), s.timeout_ms());
}

MysqlConnection CommandContext::ConnectMysql() {
  const Settings& s = settings();
  MysqlConnection::Options options;
  options.connect_timeout_ms = s.timeout_ms();
  return MysqlConnection::Connect(s.RequireMysql(), options);
}

}  // namespace warden
