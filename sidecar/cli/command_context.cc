#include "cli/command_context.h"

#include "base/errors.h"
#include "storage/redis/primary_record.h"

namespace warden {

const Settings& CommandContext::settings() {
  if (!settings_) settings_ = Settings::Resolve(flags_, env_, default_config_path_);
  return *settings_;
}

RedisConnection CommandContext::Connect() {
  const Settings& s = settings();
  RedisConnection conn = RedisConnection::Connect(s.redis(), s.timeout_ms());
  if (!conn.promoted_from().empty()) {
    Warn("redis primary " + conn.promoted_from() + " does not answer; using " + conn.endpoint() +
         ", the replica a Sentinel failover promoted (it answers ROLE master; the Sentinels "
         "have not announced it yet)");
  }
  try {
    PrimaryRecord::Note(conn, schema());  // Sentinel: for `warden status`
  } catch (const RedisReplyError&) {
    // Best effort (an ACL user without EVAL): the command itself may still work.
  }
  return conn;
}

MysqlConnection CommandContext::ConnectMysql() {
  const Settings& s = settings();
  MysqlConnection::Options options;
  options.connect_timeout_ms = s.timeout_ms();
  return MysqlConnection::Connect(s.RequireMysql(), options);
}

}  // namespace warden
