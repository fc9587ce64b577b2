#include "common/redis_deployment.h"

#include "common/url.h"

namespace warden {

namespace {

constexpr std::string_view kForms =
    "expected host[:port], redis://host[:port][/db], rediss://..., unix:///path, "
    "sentinel://host[:port],.../MASTER or cluster://host[:port],...";
constexpr std::string_view kKnownOptions =
    "db, user, password, timeout, tls, tls_ca, tls_cert, tls_key, tls_server_name, "
    "sentinel_user, sentinel_password";
constexpr int kMaxDb = 1 << 20;
constexpr int kMaxTimeoutMs = 60 * 1000;

// The message never shows the password or an option's value (Url::Redact).
std::nullopt_t Fail(std::string* error, std::string_view text, std::string_view why) {
  if (error) *error = "bad Redis deployment \"" + Url::Redact(text) + "\": " + std::string(why);
  return std::nullopt;
}

// "250", "250ms" or "2s" into milliseconds in [1, 60 s].
bool ParseTimeoutMs(std::string_view text, int* out) {
  int scale = 1;
  if (text.ends_with("ms")) {
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
    scale = 1000;
  }
  int value = 0;
  if (!Url::ParseNumber(text, 1, kMaxTimeoutMs / scale, &value)) return false;
  *out = value * scale;
  return true;
}

// Where the comma-separated host list sits in a URL: Url::Split takes one host, so a list is cut
// out here and each host is read by Url::Split alone. The bounds are Url::Split's own: after
// "://" and the last '@', up to the first '/', '?' or '#'.
struct HostList {
  size_t begin = 0;
  size_t end = 0;
};

HostList FindHostList(std::string_view url) {
  size_t start = url.find("://") + 3;
  size_t stop = url.find_first_of("?#", start);
  std::string_view rest = url.substr(start, stop == std::string_view::npos ? stop : stop - start);
  size_t at = rest.rfind('@');
  size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  size_t host_end = rest.find('/', host_begin);
  if (host_end == std::string_view::npos) host_end = rest.size();
  return {start + host_begin, start + host_end};
}

bool ParseHost(std::string_view scheme, std::string_view host_port, int default_port,
               RedisNodeAddress* out, std::string* why) {
  if (host_port.empty()) {
    *why = "a host is missing (write host:port, or host1:port,host2:port for a list)";
    return false;
  }
  std::optional<Url> parts = Url::Split(std::string(scheme) + "://" + std::string(host_port), why);
  if (!parts) return false;
  if (parts->host.empty()) {
    *why = "no host";
    return false;
  }
  out->host = parts->host;
  out->port = default_port;
  if (!parts->port.empty() && !Url::ParseNumber(parts->port, 1, 65535, &out->port)) {
    *why = "port must be a number from 1 to 65535, got \"" + parts->port + "\"";
    return false;
  }
  return true;
}

// The path after the hosts: a database number, a master's name, or nothing, by kind.
bool ApplyPath(std::string_view path, RedisDeployment* deployment, std::string* why) {
  std::string_view rest = path.substr(path.empty() ? 0 : 1);
  switch (deployment->kind) {
    case RedisDeployment::Kind::kSingle:
      if (!rest.empty() && !Url::ParseNumber(rest, 0, kMaxDb, &deployment->db)) {
        *why = "the path must be a database number (/0), got \"" + std::string(path) + "\"";
        return false;
      }
      return true;
    case RedisDeployment::Kind::kSentinel:
      if (rest.empty() || rest.find('/') != std::string_view::npos) {
        *why =
            "sentinel:// needs the monitored master's name as the path "
            "(sentinel://host:26379/mymaster?db=0)";
        return false;
      }
      deployment->master_name = std::string(rest);
      return true;
    case RedisDeployment::Kind::kCluster:
      if (!rest.empty() && rest != "0") {
        *why = "Redis Cluster has only database 0; remove \"" + std::string(path) + "\"";
        return false;
      }
      return true;
  }
  return true;
}

}  // namespace

std::optional<RedisDeployment> RedisDeployment::Parse(std::string_view text, std::string* error) {
  RedisDeployment deployment;
  std::string why;

  // nginx's `warden_redis host:port` and `unix:/path` name a single server without a scheme.
  std::string given;
  if (text.starts_with("unix:") && !text.starts_with("unix://")) {
    given = "unix://" + std::string(text.substr(5));
  } else if (text.find("://") == std::string_view::npos) {
    given = "redis://" + std::string(text);
  } else {
    given = std::string(text);
  }
  std::string_view scheme = std::string_view(given).substr(0, given.find("://"));
  int default_port = kDefaultPort;
  if (scheme == "redis" || scheme == "unix") {
  } else if (scheme == "rediss") {
    deployment.tls.enabled = true;
  } else if (scheme == "sentinel") {
    deployment.kind = Kind::kSentinel;
    default_port = kDefaultSentinelPort;
  } else if (scheme == "cluster") {
    deployment.kind = Kind::kCluster;
  } else {
    return Fail(error, text, kForms);
  }

  // Url::Split reads everything but the host list, which is replaced by its first host.
  HostList list = FindHostList(given);
  std::string_view hosts = std::string_view(given).substr(list.begin, list.end - list.begin);
  std::string first_host(hosts.substr(0, hosts.find(',')));
  std::string one_host = given.substr(0, list.begin) + first_host + given.substr(list.end);
  std::optional<Url> parts = Url::Split(one_host, &why);
  if (!parts) return Fail(error, text, why);

  if (scheme == "unix") {
    if (!parts->host.empty() || parts->path.empty()) {
      return Fail(error, text, "a unix socket needs an absolute path (unix:///run/redis.sock)");
    }
    deployment.socket_path = parts->path;
  } else {
    if (deployment.kind == Kind::kSingle && hosts.find(',') != std::string_view::npos) {
      return Fail(error, text,
                  "one server takes one host; for several use sentinel:// or cluster://");
    }
    while (true) {
      size_t comma = hosts.find(',');
      RedisNodeAddress server;
      if (!ParseHost(scheme, hosts.substr(0, comma), default_port, &server, &why)) {
        return Fail(error, text, why);
      }
      deployment.servers.push_back(std::move(server));
      if (comma == std::string_view::npos) break;
      hosts = hosts.substr(comma + 1);
    }
    if (!ApplyPath(parts->path, &deployment, &why)) return Fail(error, text, why);
  }

  if (parts->has_userinfo) {
    if (!parts->password) {
      return Fail(error, text,
                  "credentials need a password: scheme://:password@host or "
                  "scheme://user:password@host");
    }
    deployment.user = parts->user;
    deployment.password = *parts->password;
  }
  for (const auto& [key, value] : parts->query) {
    if (!deployment.ApplyOption(key, value, &why)) return Fail(error, text, why);
  }
  if (!deployment.Check(&why)) return Fail(error, text, why);
  return deployment;
}

bool RedisDeployment::ApplyOption(std::string_view key, std::string_view value, std::string* why) {
  if (key == "db") {
    if (!Url::ParseNumber(value, 0, kMaxDb, &db)) {
      *why = "db must be a database number, got \"" + std::string(value) + "\"";
      return false;
    }
  } else if (key == "user" || key == "username") {
    user = std::string(value);
  } else if (key == "password") {
    password = std::string(value);
  } else if (key == "timeout") {
    if (!ParseTimeoutMs(value, &timeout_ms)) {
      *why = "timeout must be from 1ms to 60s (250, 250ms, 2s), got \"" + std::string(value) + "\"";
      return false;
    }
    timeout_given = true;
  } else if (key == "tls") {
    if (value != "on" && value != "off") {
      *why = "tls must be on or off, got \"" + std::string(value) + "\"";
      return false;
    }
    tls.enabled = value == "on";
  } else if (key == "tls_ca") {
    tls.ca_file = std::string(value);
  } else if (key == "tls_cert") {
    tls.cert_file = std::string(value);
  } else if (key == "tls_key") {
    tls.key_file = std::string(value);
  } else if (key == "tls_server_name") {
    tls.server_name = std::string(value);
  } else if (key == "sentinel_user") {
    sentinel_user = std::string(value);
  } else if (key == "sentinel_password") {
    sentinel_password = std::string(value);
  } else {
    *why =
        "unknown option \"" + std::string(key) + "\" (known: " + std::string(kKnownOptions) + ")";
    return false;
  }
  return true;
}

bool RedisDeployment::Check(std::string* why) const {
  if (kind == Kind::kCluster && db != 0) {
    *why = "Redis Cluster has only database 0, got db=" + std::to_string(db);
    return false;
  }
  if (!user.empty() && password.empty()) {
    *why = "an ACL user needs a password (user= with password=)";
    return false;
  }
  if ((!sentinel_user.empty() || sentinel_password) && kind != Kind::kSentinel) {
    *why = "sentinel_user and sentinel_password are for sentinel:// deployments";
    return false;
  }
  if (!sentinel_user.empty() && sentinel_password.value_or("").empty()) {
    *why = "a Sentinel ACL user needs a password (sentinel_user= with sentinel_password=)";
    return false;
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    *why = "tls_cert and tls_key go together (a client certificate and its key)";
    return false;
  }
  bool tls_files = !tls.ca_file.empty() || !tls.cert_file.empty() || !tls.server_name.empty();
  if (tls_files && !tls.enabled) {
    *why = "tls_ca, tls_cert, tls_key and tls_server_name need tls=on";
    return false;
  }
  if (tls.enabled && !socket_path.empty()) {
    *why = "tls=on over a unix socket is not supported";
    return false;
  }
  return true;
}

RedisDeployment::Credentials RedisDeployment::SentinelCredentials() const {
  if (sentinel_password) return Credentials{sentinel_user, *sentinel_password, true};
  return Credentials{user, password, false};
}

std::string RedisDeployment::Redact(std::string_view text) { return Url::Redact(text); }

std::string RedisDeployment::Describe() const {
  std::string out;
  switch (kind) {
    case Kind::kSingle:
      out = "redis ";
      break;
    case Kind::kSentinel:
      out = "sentinel " + master_name + " via ";
      break;
    case Kind::kCluster:
      out = "cluster via ";
      break;
  }
  if (!socket_path.empty()) out += socket_path;
  for (size_t i = 0; i < servers.size(); ++i) {
    if (i > 0) out += ',';
    out += servers[i].ToString();
  }
  if (db != 0) out += " db " + std::to_string(db);
  if (!user.empty()) out += " user " + user;
  if (!sentinel_user.empty()) out += " sentinel user " + sentinel_user;
  if (tls.enabled) out += " tls";
  return out;
}

}  // namespace warden
