#include "storage/mysql/mysql_url.h"

#include <charconv>

#include "base/percent_decode.h"

namespace warden {

namespace {

constexpr std::string_view kForms =
    "expected mysql://user:password@host[:port]/database or "
    "mysql://user:password@/database?socket=/path/mysqld.sock";

// The URL as it may be shown: a password in it becomes "***".
std::string Redacted(std::string_view text) {
  size_t scheme = text.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(text);
  size_t colon = text.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(text);
  return std::string(text.substr(0, colon + 1)) + "***" + std::string(text.substr(at));
}

std::nullopt_t Fail(std::string* error, std::string_view text, std::string_view why) {
  if (error) *error = "bad MySQL URL \"" + Redacted(text) + "\": " + std::string(why);
  return std::nullopt;
}

bool ParsePort(std::string_view text, int* out) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (value < 1 || value > 65535) return false;
  *out = value;
  return true;
}

// Applies "socket=/path".
bool ApplyQuery(std::string_view query, MysqlUrl* url, std::string* why) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      *why = "query parameter \"" + std::string(pair) + "\" has no value";
      return false;
    }
    std::string_view key = pair.substr(0, eq);
    auto value = PercentDecode(pair.substr(eq + 1));
    if (!value) {
      *why = "bad percent-encoding in \"" + std::string(pair) + "\"";
      return false;
    }
    if (key == "socket") {
      if (value->empty() || value->front() != '/') {
        *why = "socket needs an absolute path (?socket=/run/mysqld/mysqld.sock)";
        return false;
      }
      url->socket_path = *value;
    } else {
      *why = "unknown query parameter \"" + std::string(key) + "\" (known: socket)";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string MysqlUrl::Endpoint() const {
  if (is_unix()) return socket_path;
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

std::optional<MysqlUrl> MysqlUrl::Parse(std::string_view text, std::string* error) {
  MysqlUrl url;
  std::string why;
  std::string_view rest;
  if (text.starts_with("mysql://")) {
    rest = text.substr(8);
  } else if (text.starts_with("mariadb://")) {
    rest = text.substr(10);
  } else {
    return Fail(error, text, kForms);
  }

  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // The authority ends at the first '/' after any userinfo ('/' may not appear in it unencoded).
  size_t at = rest.rfind('@');
  size_t slash = rest.find('/', at == std::string_view::npos ? 0 : at);
  if (slash == std::string_view::npos) {
    return Fail(error, text, "no database: add it as the path (mysql://user:password@host/warden)");
  }
  auto database = PercentDecode(rest.substr(slash + 1));
  rest = rest.substr(0, slash);
  if (!database) return Fail(error, text, "bad percent-encoding in the database name");
  if (database->empty()) {
    return Fail(error, text, "no database: add it as the path (mysql://user:password@host/warden)");
  }
  if (database->size() > 64 || database->find('/') != std::string::npos ||
      database->find('\0') != std::string::npos) {
    return Fail(error, text, "the database name must be 1 to 64 characters without '/' or NUL");
  }
  url.database = *database;

  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon));
    std::optional<std::string> password = std::string();
    if (colon != std::string_view::npos) password = PercentDecode(userinfo.substr(colon + 1));
    if (!user || !password) return Fail(error, text, "bad percent-encoding in the credentials");
    if (user->empty()) return Fail(error, text, "empty user name before '@'");
    url.user = *user;
    url.password = *password;
  }

  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Fail(error, text, "unterminated [IPv6] host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Fail(error, text, "unexpected text after [IPv6] host");
      port = after.substr(1);
      if (port.empty()) return Fail(error, text, "empty port");
    }
    if (host.empty()) return Fail(error, text, "empty [IPv6] host");
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) {
      return Fail(error, text, "put an IPv6 host in brackets: mysql://user@[::1]:3306/db");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return Fail(error, text, "empty port");
  }
  if (!port.empty() && !ParsePort(port, &url.port)) {
    return Fail(error, text,
                "port must be a number from 1 to 65535, got \"" + std::string(port) + "\"");
  }
  if (!ApplyQuery(query, &url, &why)) return Fail(error, text, why);

  if (url.is_unix()) {
    if (!host.empty() && host != "localhost") {
      return Fail(error, text,
                  "give either a host or ?socket=, not both (mysql://user@/db?socket=/path)");
    }
    if (!port.empty()) return Fail(error, text, "a port makes no sense with ?socket=");
    return url;
  }
  if (host.empty()) {
    return Fail(error, text, "no host: mysql://user@host/db, or mysql://user@/db?socket=/path");
  }
  url.host = std::string(host);
  return url;
}

}  // namespace warden
