#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/redis_deployment.h"
#include "common/redis_node_address.h"
#include "common/redis_tls.h"

namespace warden {

// The byte stream under a RedisConnection: a TCP or unix socket of our own, optionally TLS
// through OpenSSL (certificate verification on, the host name or IP checked against the
// certificate). Every call is bounded by a timeout (non-blocking socket + poll). Failures throw
// RedisConnectError while connecting and RedisIoError afterwards, one line naming the endpoint;
// nothing here ever sees a password.
class RedisSocket {
 public:
  // Resolves `address` (a name is resolved here: the sidecar is allowed to block), connects to
  // the first address that answers and, with tls.enabled, completes the TLS handshake.
  static RedisSocket ConnectTcp(const RedisNodeAddress& address, const RedisDeployment::Tls& tls,
                                int64_t timeout_ms);
  static RedisSocket ConnectUnix(const std::string& path, int64_t timeout_ms);

  RedisSocket(RedisSocket&& other) noexcept;
  RedisSocket& operator=(RedisSocket&& other) noexcept;
  RedisSocket(const RedisSocket&) = delete;
  RedisSocket& operator=(const RedisSocket&) = delete;
  ~RedisSocket();

  // Writes all of `data` within `timeout_ms`; `command` names what for the message.
  void WriteAll(std::string_view data, int64_t timeout_ms, const std::string& command);
  // Reads what is there (at least one byte) within `timeout_ms`. Throws on EOF.
  size_t ReadSome(char* buffer, size_t size, int64_t timeout_ms, const std::string& command);

  // Whether there is something to read (buffered TLS data, or the socket readable) within
  // `wait_ms`; false when nothing came. Never throws: a closed socket is readable.
  bool WaitReadable(int64_t wait_ms) const;
  // "127.0.0.1:6379" or "/run/redis.sock".
  const std::string& endpoint() const { return endpoint_; }
  bool tls() const { return ssl_ != nullptr; }

 private:
  RedisSocket(int fd, std::string endpoint) : fd_(fd), endpoint_(std::move(endpoint)) {}

  void StartTls(const RedisNodeAddress& address, const RedisDeployment::Tls& tls,
                int64_t deadline_ms);
  // Waits until the socket is readable (or writable); false on timeout.
  bool Wait(bool for_write, int64_t deadline_ms) const;
  [[noreturn]] void ThrowIo(const std::string& what) const;

  int fd_ = -1;
  std::string endpoint_;
  SslCtxPtr ctx_;
  SslPtr ssl_;
};

}  // namespace warden
