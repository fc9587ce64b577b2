#include "storage/mysql/mysql_url.h"

#include "common/percent_decode.h"
#include "common/url.h"

namespace warden {

namespace {

constexpr std::string_view kForms =
    "expected mysql://user:password@host[:port]/database or "
    "mysql://user:password@/database?socket=/path/mysqld.sock";

// The message never shows the URL's password or query values (Url::Redact).
std::nullopt_t Fail(std::string* error, std::string_view text, std::string_view why) {
  if (error) *error = "bad MySQL URL \"" + Url::Redact(text) + "\": " + std::string(why);
  return std::nullopt;
}

// Applies "socket=/path".
bool ApplyQuery(const Url& parts, MysqlUrl* url, std::string* why) {
  for (const auto& [key, value] : parts.query) {
    if (key == "socket") {
      if (value.empty() || value.front() != '/') {
        *why = "socket needs an absolute path (?socket=/run/mysqld/mysqld.sock)";
        return false;
      }
      url->socket_path = value;
    } else {
      *why = "unknown query parameter \"" + key + "\" (known: socket)";
      return false;
    }
  }
  return true;
}

}  // namespace

std::string MysqlUrl::Endpoint() const {
  if (is_unix()) return socket_path;
  return Url::HostPort(host, std::to_string(port));
}

std::optional<MysqlUrl> MysqlUrl::Parse(std::string_view text, std::string* error) {
  MysqlUrl url;
  std::string why;
  if (!text.starts_with("mysql://") && !text.starts_with("mariadb://")) {
    return Fail(error, text, kForms);
  }
  std::optional<Url> parts = Url::Split(text, &why);
  if (!parts) return Fail(error, text, why);

  if (parts->path.empty()) {
    return Fail(error, text, "no database: add it as the path (mysql://user:password@host/warden)");
  }
  auto database = PercentDecode(std::string_view(parts->path).substr(1));
  if (!database) return Fail(error, text, "bad percent-encoding in the database name");
  if (database->empty()) {
    return Fail(error, text, "no database: add it as the path (mysql://user:password@host/warden)");
  }
  if (database->size() > 64 || database->find('/') != std::string::npos ||
      database->find('\0') != std::string::npos) {
    return Fail(error, text, "the database name must be 1 to 64 characters without '/' or NUL");
  }
  url.database = *database;

  if (parts->has_userinfo) {
    if (parts->user.empty()) return Fail(error, text, "empty user name before '@'");
    url.user = parts->user;
    url.password = parts->password.value_or("");
  }
  if (!parts->port.empty() && !Url::ParseNumber(parts->port, 1, 65535, &url.port)) {
    return Fail(error, text, "port must be a number from 1 to 65535, got \"" + parts->port + "\"");
  }
  if (!ApplyQuery(*parts, &url, &why)) return Fail(error, text, why);

  if (url.is_unix()) {
    if (!parts->host.empty() && parts->host != "localhost") {
      return Fail(error, text,
                  "give either a host or ?socket=, not both (mysql://user@/db?socket=/path)");
    }
    if (!parts->port.empty()) return Fail(error, text, "a port makes no sense with ?socket=");
    return url;
  }
  if (parts->host.empty()) {
    return Fail(error, text, "no host: mysql://user@host/db, or mysql://user@/db?socket=/path");
  }
  url.host = parts->host;
  return url;
}

}  // namespace warden
