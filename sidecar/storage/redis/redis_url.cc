#include "storage/redis/redis_url.h"

#include <charconv>

#include "base/percent_decode.h"

namespace warden {

namespace {

constexpr std::string_view kForms =
    "expected redis://[:password@]host[:port][/db] or unix:///path/redis.sock[?db=N]";

std::nullopt_t Fail(std::string* error, std::string_view text, std::string_view why) {
  if (error) *error = "bad Redis URL \"" + std::string(text) + "\": " + std::string(why);
  return std::nullopt;
}

bool ParseNumber(std::string_view text, int min, int max, int* out) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

// Applies "db=N&password=X&user=U".
bool ApplyQuery(std::string_view query, RedisUrl* url, std::string* why) {
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
    if (key == "db") {
      if (!ParseNumber(*value, 0, 1 << 20, &url->db)) {
        *why = "db must be a number, got \"" + *value + "\"";
        return false;
      }
    } else if (key == "password") {
      url->password = *value;
    } else if (key == "user" || key == "username") {
      url->user = *value;
    } else {
      *why = "unknown query parameter \"" + std::string(key) + "\" (known: db, password, user)";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string RedisUrl::Endpoint() const {
  if (is_unix()) return socket_path;
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

std::optional<RedisUrl> RedisUrl::Parse(std::string_view text, std::string* error) {
  RedisUrl url;
  std::string why;
  std::string_view rest;

  if (text.starts_with("unix:")) {
    rest = text.substr(5);
    if (rest.starts_with("//")) rest.remove_prefix(2);
    size_t q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    if (path.empty() || path.front() != '/') {
      return Fail(error, text, "a unix socket needs an absolute path (unix:///run/redis.sock)");
    }
    url.socket_path = std::string(path);
    if (q != std::string_view::npos && !ApplyQuery(rest.substr(q + 1), &url, &why)) {
      return Fail(error, text, why);
    }
    return url;
  }
  if (text.starts_with("rediss://")) {
    return Fail(error, text, "TLS (rediss://) is not supported; use redis:// or unix://");
  }
  if (!text.starts_with("redis://")) return Fail(error, text, kForms);
  rest = text.substr(8);

  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  // The authority ends at the first '/' after any userinfo ('/' may not appear in it unencoded).
  size_t at = rest.rfind('@');
  size_t slash = rest.find('/', at == std::string_view::npos ? 0 : at);
  if (slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return Fail(error, text,
                  "credentials need a password: redis://:password@host or "
                  "redis://user:password@host");
    }
    auto user = PercentDecode(userinfo.substr(0, colon));
    auto password = PercentDecode(userinfo.substr(colon + 1));
    if (!user || !password) return Fail(error, text, "bad percent-encoding in the credentials");
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
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) {
      return Fail(error, text, "put an IPv6 host in brackets: redis://[::1]:6379");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return Fail(error, text, "empty port");
  }
  if (host.empty()) return Fail(error, text, "no host");
  url.host = std::string(host);
  if (!port.empty() && !ParseNumber(port, 1, 65535, &url.port)) {
    return Fail(error, text,
                "port must be a number from 1 to 65535, got \"" + std::string(port) + "\"");
  }
  if (!path.empty() && !ParseNumber(path, 0, 1 << 20, &url.db)) {
    return Fail(error, text,
                "the path must be a database number (/0), got \"/" + std::string(path) + "\"");
  }
  if (!ApplyQuery(query, &url, &why)) return Fail(error, text, why);
  return url;
}

}  // namespace warden
