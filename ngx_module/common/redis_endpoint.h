#pragma once

#include <string>

#include "common/url.h"

namespace warden {

// One Redis server (or Sentinel) by TCP address, as a deployment names it and as Redis names it
// back (CLUSTER SLOTS, MOVED, SENTINEL get-master-addr-by-name). Host as given: a name, an IPv4
// address or an IPv6 address without brackets.
struct RedisEndpoint {
  std::string host;
  int port = 0;

  // "host:port", "[::1]:port": for messages and for comparing with what Redis reports.
  std::string ToString() const { return Url::HostPort(host, std::to_string(port)); }

  bool operator==(const RedisEndpoint&) const = default;
};

}  // namespace warden
