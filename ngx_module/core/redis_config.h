#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/redis_deployment.h"
#include "core/async_client.h"

namespace warden {

// `warden_redis`'s arguments, read when nginx reads its configuration: the address in any form
// common/redis_deployment.h names (host:port, unix:/path, redis://..., sentinel://...,
// cluster://...), then
// one `key=value` argument each (its options, and the module's own prefix=). Host names are
// resolved here, in the master, once: hiredis would resolve with blocking calls in a worker.
// No message shows a password or an option's value.
class RedisConfig {
 public:
  static std::optional<RedisConfig> Parse(std::string_view address, std::string* error);
  bool Option(std::string_view argument, std::string* error);
  // Checks the options together (db 0 and a prefix without braces in a cluster), reads the
  // TLS files into a context (the workers inherit it) and resolves the host names.
  bool Finish(std::string* error);

  const RedisEndpoint& endpoint() const { return endpoint_; }
  int timeout_ms() const { return deployment_.timeout_ms; }

 private:
  RedisDeployment deployment_;
  std::string prefix_ = "warden:";
  RedisEndpoint endpoint_;
};

}  // namespace warden
