#include "storage/redis/redis_connection.h"

#include <sys/time.h>

#include <cstring>

#include "common/c_ptr.h"
#include "base/duration.h"
#include "base/errors.h"

namespace warden {

namespace {

timeval ToTimeval(int64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>(ms % 1000 * 1000);
  return tv;
}

bool IsTimeout(const redisContext& context) {
  return context.err == REDIS_ERR_IO &&
         (std::strstr(context.errstr, "temporarily unavailable") != nullptr ||
          std::strstr(context.errstr, "timed out") != nullptr);
}

std::string CommandName(std::string_view first) {
  std::string name(first);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

RedisConnection RedisConnection::Connect(const RedisUrl& url, int64_t timeout_ms) {
  const timeval tv = ToTimeval(timeout_ms);
  ContextPtr context(
      url.is_unix() ? redisConnectUnixWithTimeout(url.socket_path.c_str(), tv)
                    : redisConnectWithTimeout(url.host.c_str(), url.port, tv));
  const std::string where = "cannot connect to Redis at " + url.Endpoint();
  if (!context) throw RedisConnectError(where + ": out of memory");
  if (context->err != 0) {
    if (IsTimeout(*context) || std::strstr(context->errstr, "timed out") != nullptr) {
      throw RedisConnectError(where + ": no answer within " + FormatDuration(timeout_ms));
    }
    throw RedisConnectError(where + ": " + context->errstr);
  }
  if (redisSetTimeout(context.get(), tv) != REDIS_OK) {
    throw RedisConnectError(where + ": cannot set the timeout: " + context->errstr);
  }

  RedisConnection conn(std::move(context), url, timeout_ms);
  try {
    if (!url.password.empty()) {
      RedisReply reply = url.user.empty() ? conn.Command({"AUTH", url.password})
                                          : conn.Command({"AUTH", url.user, url.password});
      if (reply.view().is_error()) {
        throw RedisConnectError("Redis at " + url.Endpoint() +
                                " refused the credentials: " + std::string(reply.view().str()));
      }
    }
    if (url.db != 0) {
      RedisReply reply = conn.Command({"SELECT", std::to_string(url.db)});
      if (reply.view().is_error()) {
        throw RedisConnectError("Redis at " + url.Endpoint() + " refused database " +
                                std::to_string(url.db) + ": " + std::string(reply.view().str()));
      }
    }
  } catch (const RedisIoError& e) {
    throw RedisConnectError(e.what());
  }
  return conn;
}

RedisReply RedisConnection::Command(std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> argv(args);
  AppendArgv(argv);
  return GetReply(CommandName(argv.front()));
}

RedisReply RedisConnection::Command(const std::vector<std::string>& args) {
  Append(args);
  return GetReply(CommandName(args.front()));
}

void RedisConnection::Append(const std::vector<std::string>& args) {
  std::vector<std::string_view> argv(args.begin(), args.end());
  AppendArgv(argv);
}

void RedisConnection::AppendArgv(const std::vector<std::string_view>& args) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view arg : args) {
    ptrs.push_back(arg.data());
    lens.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_.get(), static_cast<int>(args.size()), ptrs.data(),
                             lens.data()) != REDIS_OK) {
    ThrowIo(args.empty() ? "" : CommandName(args.front()));
  }
}

RedisReply RedisConnection::GetReply(std::string command) {
  void* raw = nullptr;
  if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) ThrowIo(command);
  return RedisReply(static_cast<redisReply*>(raw), std::move(command));
}

void RedisConnection::ThrowIo(const std::string& command) const {
  const std::string where = "Redis at " + url_.Endpoint();
  if (IsTimeout(*context_)) {
    throw RedisIoError(where + " did not answer " + command + " within " +
                       FormatDuration(timeout_ms_));
  }
  throw RedisIoError("lost the connection to " + where + ": " + context_->errstr);
}

}  // namespace warden
