#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"

struct redisAsyncContext;
struct redisReply;

namespace warden {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
using LogFn = std::function<void(LogLevel, const std::string&)>;

struct RedisEndpoint {
  std::string host = "127.0.0.1";  // an IP literal: names are resolved at configuration time
  int port = 6379;
  std::string unix_path;  // used instead of host:port when set
  std::string password;
  int db = 0;
  std::string prefix = "warden:";
  int timeout_ms = 1000;

  std::string Describe() const;
};

// One hiredis async connection on the host's event loop (the glue attaches it), that never
// blocks its caller: commands are pipelined, each with a deadline; a connection that misses
// one is dropped and re-established with jittered exponential backoff. An outage is logged
// once, and once more when Redis is back.
class AsyncRedis {
 public:
  // Called with the reply, or with nullptr when the command failed (connection lost,
  // deadline missed, shutting down). Error replies are passed as they are.
  using Callback = std::function<void(redisReply*)>;
  using AttachFn = std::function<bool(redisAsyncContext*)>;

  AsyncRedis(RedisEndpoint endpoint, std::string purpose, Clock clock, AttachFn attach, LogFn log);
  ~AsyncRedis();
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  // Connects when due, enforces deadlines. Call it periodically (every ~100 ms).
  void Tick();
  // False (and the callback is not called) when there is no connection right now.
  bool Send(const std::vector<std::string>& args, int64_t budget_ms, Callback callback);
  // From inside a callback: close once the pending replies are in (a protocol problem).
  void DisconnectSoon(const std::string& why);
  void Close();

  bool connected() const { return ac_ != nullptr; }
  // Runs after each (re)connection, before any other command may be sent.
  void set_on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }
  const RedisEndpoint& endpoint() const { return endpoint_; }
  const std::string& purpose() const { return purpose_; }
  void Log(LogLevel level, const std::string& msg) const { log_(level, msg); }
  // Marks Redis as answering again after an outage (logged once).
  void MarkHealthy();
  uint64_t errors() const { return errors_; }
  // The last failure (connection or command; never a password) and when (0: none yet), for the
  // node's heartbeat.
  const std::string& last_error() const { return last_error_; }
  int64_t last_error_ms() const { return last_error_ms_; }

 private:
  struct Pending;
  void Connect();
  void Drop(const std::string& why);
  void ScheduleRetry();
  void NoteOutage(const std::string& what);
  static void ConnectCallback(const redisAsyncContext* ac, int status) noexcept;
  static void DisconnectCallback(const redisAsyncContext* ac, int status) noexcept;
  static void ReplyCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  // In a catch block of a callback: counts and logs the exception being handled.
  void NoteCallbackException(const char* callback) noexcept;

  RedisEndpoint endpoint_;
  std::string purpose_;
  Clock clock_;
  AttachFn attach_;
  LogFn log_;
  std::function<void()> on_connect_;

  redisAsyncContext* ac_ = nullptr;
  std::deque<int64_t> deadlines_;  // of the outstanding commands, in order
  bool outage_logged_ = false;
  int64_t next_attempt_ms_ = 0;
  uint64_t errors_ = 0;
  std::string last_error_;
  int64_t last_error_ms_ = 0;
  Backoff backoff_;
};

}  // namespace warden
