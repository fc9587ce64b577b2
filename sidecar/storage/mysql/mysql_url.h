#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Where and how to reach MariaDB/MySQL, parsed from a URL:
//   mysql://[user[:password]@]host[:port]/database
//   mysql://[user[:password]@][localhost]/database?socket=/run/mysqld/mysqld.sock
// (mariadb:// is accepted as well). Host may be a name, an IPv4 address or a bracketed IPv6
// address ("[::1]"). User, password and database may be percent-encoded. The port defaults to
// 3306; the database is required. A host always means TCP, even "localhost" (the client
// library would otherwise pick its default socket), and ?socket= always means that socket.
struct MysqlUrl {
  std::string host;  // empty for a unix socket
  int port = 3306;
  std::string socket_path;  // set for a unix socket
  std::string user;         // empty: the client library's default (the login name)
  std::string password;     // empty: none
  std::string database;

  bool is_unix() const { return !socket_path.empty(); }
  // "127.0.0.1:3306", "[::1]:3306" or "/run/mysqld/mysqld.sock", for messages. Never shows
  // secrets.
  std::string Endpoint() const;

  // On failure returns nullopt and sets `error` to one line that names what is wrong.
  static std::optional<MysqlUrl> Parse(std::string_view text, std::string* error);
};

}  // namespace warden
