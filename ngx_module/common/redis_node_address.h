#pragma once

#include <string>

#include "common/url.h"

namespace warden {

// One Redis server (or Sentinel) by TCP address, as a deployment names it and as Redis names it
// back (CLUSTER SLOTS, MOVED, SENTINEL get-master-addr-by-name). Host as given: a name, an IPv4
// address or an IPv6 address without brackets.
// (Not RedisEndpoint: that is the module core's connection settings, core/async_redis.h; one
// name for two types would break the one-definition rule in a binary that links both.)
struct RedisNodeAddress {
  std::string host;
  int port = 0;

  // "host:port", "[::1]:port": for messages and for comparing with what Redis reports.
  std::string ToString() const { return Url::HostPort(host, std::to_string(port)); }

  bool operator==(const RedisNodeAddress&) const = default;
};

}  // namespace warden
