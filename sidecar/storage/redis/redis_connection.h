#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/c_ptr.h"
#include "storage/redis/redis_reply.h"
#include "storage/redis/redis_url.h"

namespace warden {

// One blocking hiredis connection with connect and command timeouts. Failures throw:
// RedisConnectError while connecting (refused, auth, timeout), RedisIoError once the connection
// breaks or a reply does not arrive in time (the connection is unusable afterwards).
// Error replies are returned, not thrown; ReplyView::ThrowIfError turns them into exceptions.
class RedisConnection {
 public:
  // Connects, authenticates (AUTH [user] password) and selects the database.
  static RedisConnection Connect(const RedisUrl& url, int64_t timeout_ms);

  // Sends one command and waits for its reply.
  RedisReply Command(std::initializer_list<std::string_view> args);
  RedisReply Command(const std::vector<std::string>& args);

  // Pipelining: Append queues a command locally; GetReply sends everything queued and returns the
  // replies in order, one per call.
  void Append(const std::vector<std::string>& args);
  RedisReply GetReply(std::string command);

  const RedisUrl& url() const { return url_; }
  // False once an I/O error broke the connection.
  bool healthy() const { return context_ && context_->err == 0; }

 private:
  using ContextPtr = CPtr<redisContext, redisFree>;

  RedisConnection(ContextPtr context, const RedisUrl& url, int64_t timeout_ms)
      : context_(std::move(context)), url_(url), timeout_ms_(timeout_ms) {}

  void AppendArgv(const std::vector<std::string_view>& args);
  [[noreturn]] void ThrowIo(const std::string& command) const;

  ContextPtr context_;
  RedisUrl url_;
  int64_t timeout_ms_;
};

}  // namespace warden
