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
#include "core/async_tls.h"

struct redisAsyncContext;
struct redisReply;

namespace warden {

class SentinelLocator;

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
using LogFn = std::function<void(LogLevel, const std::string&)>;

struct RedisEndpoint {
  std::string host = "127.0.0.1";  // an IP literal: names are resolved at configuration time
  int port = 6379;
  std::string host_name;  // the host as configured (a name, or host again): what TLS checks
  std::string unix_path;  // used instead of host:port when set
  std::string user;       // an ACL user (AUTH user password); empty: AUTH password
  std::string password;
  int db = 0;
  std::string prefix = "warden:";
  int timeout_ms = 1000;
  // sentinel://: the Sentinels (IP literals) and the master they monitor; host and port are
  // then unused: the locator names the primary.
  std::vector<RedisNodeAddress> sentinels;
  std::vector<std::string> sentinel_names;  // each as configured, in the same order (for TLS)
  // What the Sentinels are sent: sentinel_user/sentinel_password when configured, else the
  // data nodes' user and password (RedisDeployment::SentinelCredentials).
  std::string sentinel_user;
  std::string sentinel_password;
  std::string master_name;
  // TLS on every connection (data nodes and Sentinels) when its context is set.
  RedisTlsSettings tls;
  // With sentinels: the worker's locator (it owns it; it outlives the connections).
  SentinelLocator* locator = nullptr;

  std::string Describe() const;
};

// One hiredis async connection on the host's event loop (the glue attaches it), that never
// blocks its caller: commands are pipelined, each with a deadline; a connection that misses
// one is dropped and re-established with jittered exponential backoff. An outage is logged
// once, and once more when Redis is back. A reply READONLY, LOADING or MASTERDOWN (a demoted
// or restarting primary) drops the connection too. With Sentinel, the primary comes from the
// endpoint's locator: the connection is usable once ROLE says master, reports the primary
// suspect when it fails, and moves to a new primary as soon as the locator names one. With
// the endpoint's TLS, the connection runs TLS under hiredis (core/async_tls.h): the glue drives
// every connection through AsyncTls::HandleRead/HandleWrite.
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

  // Commands may be sent (with Sentinel: once ROLE said master).
  bool connected() const { return ac_ != nullptr && ready_; }
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
