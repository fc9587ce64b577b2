#include "command_context.h"

namespace warden {

const Settings& CommandContext::settings() {
  if (!settings_) settings_ = Settings::Resolve(flags_, env_, default_config_path_);
  return *settings_;
}

RedisConnection CommandContext::Connect() {
  const Settings& s = settings();
  return RedisConnection::Connect(s.redis(), s.timeout_ms());
}

}  // namespace warden
