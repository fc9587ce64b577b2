#include "storage/redis/redis_url.h"

#include "common/url.h"

namespace warden {

namespace {

constexpr std::string_view kForms =
    "expected redis://[:password@]host[:port][/db] or unix:///path/redis.sock[?db=N]";

// The message never shows the URL's password or query values (Url::Redact).
std::nullopt_t Fail(std::string* error, std::string_view text, std::string_view why) {
  if (error) *error = "bad Redis URL \"" + Url::Redact(text) + "\": " + std::string(why);
  return std::nullopt;
}

// Applies "db=N&password=X&user=U".
bool ApplyQuery(const Url& parts, RedisUrl* url, std::string* why) {
  for (const auto& [key, value] : parts.query) {
    if (key == "db") {
      if (!Url::ParseNumber(value, 0, 1 << 20, &url->db)) {
        *why = "db must be a number, got \"" + value + "\"";
        return false;
      }
    } else if (key == "password") {
      url->password = value;
    } else if (key == "user" || key == "username") {
      url->user = value;
    } else {
      *why = "unknown query parameter \"" + key + "\" (known: db, password, user)";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string RedisUrl::Endpoint() const {
  if (is_unix()) return socket_path;
  return Url::HostPort(host, std::to_string(port));
}

std::optional<RedisUrl> RedisUrl::Parse(std::string_view text, std::string* error) {
  RedisUrl url;
  std::string why;

  std::string unix_text;
  std::string_view given = text;
  if (text.starts_with("unix:") && !text.starts_with("unix://")) {
    unix_text = "unix://" + std::string(text.substr(5));  // unix:/path
    given = unix_text;
  }
  if (text.starts_with("rediss://")) {
    return Fail(error, text, "TLS (rediss://) is not supported; use redis:// or unix://");
  }
  if (!given.starts_with("redis://") && !given.starts_with("unix://")) {
    return Fail(error, text, kForms);
  }
  std::optional<Url> parts = Url::Split(given, &why);
  if (!parts) return Fail(error, text, why);

  if (parts->scheme == "unix") {
    if (!parts->host.empty() || parts->path.empty()) {
      return Fail(error, text, "a unix socket needs an absolute path (unix:///run/redis.sock)");
    }
    url.socket_path = parts->path;
    if (!ApplyQuery(*parts, &url, &why)) return Fail(error, text, why);
    return url;
  }

  if (parts->has_userinfo) {
    if (!parts->password) {
      return Fail(error, text,
                  "credentials need a password: redis://:password@host or "
                  "redis://user:password@host");
    }
    url.user = parts->user;
    url.password = *parts->password;
  }
  if (parts->host.empty()) return Fail(error, text, "no host");
  url.host = parts->host;
  if (!parts->port.empty() && !Url::ParseNumber(parts->port, 1, 65535, &url.port)) {
    return Fail(error, text, "port must be a number from 1 to 65535, got \"" + parts->port + "\"");
  }
  std::string_view db = std::string_view(parts->path).substr(parts->path.empty() ? 0 : 1);
  if (!db.empty() && !Url::ParseNumber(db, 0, 1 << 20, &url.db)) {
    return Fail(error, text,
                "the path must be a database number (/0), got \"" + parts->path + "\"");
  }
  if (!ApplyQuery(*parts, &url, &why)) return Fail(error, text, why);
  return url;
}

}  // namespace warden
