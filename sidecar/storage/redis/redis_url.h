#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Where and how to reach Redis, parsed from a URL:
//   redis://[[user]:password@]host[:port][/db][?db=N&password=X&user=U]
//   unix:///path/redis.sock[?db=N&password=X&user=U]     (also unix:/path/redis.sock)
// Host may be a name, an IPv4 address or a bracketed IPv6 address ("[::1]"). User and password
// may be percent-encoded. Defaults: port 6379, db 0.
struct RedisUrl {
  static constexpr const char* kDefault = "redis://127.0.0.1:6379/0";

  std::string host;  // empty for a unix socket
  int port = 6379;
  std::string socket_path;  // set for a unix socket
  int db = 0;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH

  bool is_unix() const { return !socket_path.empty(); }
  // "127.0.0.1:6379", "[::1]:6379" or "/run/redis.sock", for messages. Never shows secrets.
  std::string Endpoint() const;

  // On failure returns nullopt and sets `error` to one line that names what is wrong.
  static std::optional<RedisUrl> Parse(std::string_view text, std::string* error);
};

}  // namespace warden
