#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden {

// The one reader of the URLs Warden takes (redis://, unix://, mysql://, http(s)://), in RFC
// 3986's generic shape: scheme://[user[:password]@]host[:port][/path][?query][#fragment].
// Split() takes the text apart and decodes it; what a part may hold (a port's range, a path that
// is a database number, the known query keys) is for each kind of URL to check
// (common/redis_deployment.h, storage/mysql/mysql_url.h, net/http_client.h). A message about a
// URL shows Redact()'s text, never the URL as given.
struct Url {
  std::string scheme;  // as written, without "://"
  bool has_userinfo = false;
  std::string user;                     // percent-decoded
  std::optional<std::string> password;  // percent-decoded; nullopt: no ':' in the userinfo
  std::string host;                     // an IPv6 address without its brackets; may be empty
  std::string port;                     // as written; empty: none given
  std::string path;                     // from the '/' that ends the authority, not decoded
  std::vector<std::pair<std::string, std::string>> query;  // keys as written, values decoded

  // On failure returns nullopt and sets `why` to what is wrong (it never repeats the text).
  static std::optional<Url> Split(std::string_view text, std::string* why);

  // `text` as it may be shown in an error or a log line: the password and every query value
  // become "***", and a fragment is dropped.
  static std::string Redact(std::string_view text);

  // "host:port", "[::1]:port" for an IPv6 host.
  static std::string HostPort(std::string_view host, std::string_view port);

  // A decimal number in [min, max], the whole of `text`.
  static bool ParseNumber(std::string_view text, int min, int max, int* out);
};

}  // namespace warden
