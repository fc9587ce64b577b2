#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/redis_node_address.h"
#include "core/async_client.h"
#include "core/async_tls.h"

struct redisAsyncContext;
struct redisReply;

namespace warden {

// One hiredis async connection on the host's event loop (the glue attaches it), that never
// blocks its caller: commands are pipelined, each with a deadline; a connection that misses
// one is dropped and re-established with jittered exponential backoff. An outage is logged
// once, and once more when Redis is back. A reply READONLY, LOADING or MASTERDOWN (a demoted
// or restarting primary) drops the connection too. With Sentinel, the primary comes from the
// endpoint's locator: the connection is usable once ROLE says master, reports the primary
// suspect when it fails, and moves to a new primary as soon as the locator names one. With
// the endpoint's TLS, the connection runs TLS under hiredis (core/async_tls.h): the glue drives
// every connection through AsyncTls::HandleRead/HandleWrite.
class AsyncRedis final : public AsyncClient {
 public:
  AsyncRedis(RedisEndpoint endpoint, std::string purpose, Clock clock, AttachFn attach, LogFn log);
  ~AsyncRedis() override;
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  void Tick() override;
  bool Send(const std::vector<std::string>& args, int64_t budget_ms, Callback callback) override;
  void DisconnectSoon(const std::string& why) override;
  void Close() override;

  // Commands may be sent (with Sentinel: once ROLE said master).
  bool connected() const override { return ac_ != nullptr && ready_; }
  // Runs after each (re)connection, before any other command may be sent.
  void set_on_connect(std::function<void()> fn) override { on_connect_ = std::move(fn); }
  const RedisEndpoint& endpoint() const override { return endpoint_; }
  const std::string& purpose() const override { return purpose_; }
  void Log(LogLevel level, const std::string& msg) const override { log_(level, msg); }
  void MarkHealthy() override;
  uint64_t errors() const override { return errors_; }
  void ForEachConnection(const std::function<void(const AsyncRedis&)>& fn) const override {
    fn(*this);
  }
  // The last failure (connection or command; never a password) and when (0: none yet), for the
  // node's heartbeat.
  const std::string& last_error() const { return last_error_; }
  int64_t last_error_ms() const { return last_error_ms_; }

 private:
  struct Pending;
  void Connect();
  bool SendRaw(const std::vector<std::string>& args, int64_t budget_ms, Callback callback);
  void Ready();
  void OnRole(redisReply* reply);
  // A reply that says this server is no primary to write to now: leave it (and, with Sentinel,
  // have the locator ask again).
  void LeaveServer(const std::string& why);
  void SuspectTarget(const std::string& why);
  std::string Where() const;
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
  bool ready_ = false;
  // With Sentinel: the primary connected to, and the locator's generation then.
  std::optional<RedisNodeAddress> target_;
  uint64_t target_generation_ = 0;
  std::deque<int64_t> deadlines_;      // of the outstanding commands, in order
  int64_t handshake_deadline_ms_ = 0;  // a TLS handshake under way must end by then
  bool outage_logged_ = false;
  int64_t next_attempt_ms_ = 0;
  uint64_t errors_ = 0;
  std::string last_error_;
  int64_t last_error_ms_ = 0;
  Backoff backoff_;
};

}  // namespace warden
