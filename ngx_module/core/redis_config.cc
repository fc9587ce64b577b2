#include "core/redis_config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>

#include "common/redis_schema.h"
#include "common/redis_tls.h"

namespace warden {

namespace {

constexpr std::string_view kKnown =
    "db=, user=, password=, prefix=, timeout=, tls=, tls_ca=, tls_cert=, tls_key=, "
    "tls_server_name=, sentinel_user=, sentinel_password=";

// The first address of `host`, as text: the name is looked up once, here.
bool Resolve(const std::string& host, std::string* address, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || !found) {
    *error = "cannot resolve redis host \"" + host + "\": " + gai_strerror(rc);
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  char text[INET6_ADDRSTRLEN] = {0};
  const void* raw = found->ai_family == AF_INET6
                        ? static_cast<const void*>(
                              &reinterpret_cast<const sockaddr_in6*>(found->ai_addr)->sin6_addr)
                        : static_cast<const void*>(
                              &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr);
  if (!inet_ntop(found->ai_family, raw, text, sizeof text)) {
    *error = "cannot resolve redis host \"" + host + "\"";
    return false;
  }
  *address = text;
  return true;
}

}  // namespace

std::optional<RedisConfig> RedisConfig::Parse(std::string_view address, std::string* error) {
  std::optional<RedisDeployment> deployment = RedisDeployment::Parse(address, error);
  if (!deployment) return std::nullopt;
  RedisConfig config;
  config.deployment_ = std::move(*deployment);
  return config;
}

bool RedisConfig::Option(std::string_view argument, std::string* error) {
  size_t eq = argument.find('=');
  // The name only: a misspelt "password=" must not print the secret.
  std::string_view key = argument.substr(0, eq);
  if (eq == std::string_view::npos) {
    // Not echoed: a bare word may be a password written without "password=".
    *error = "invalid parameter: expected key=value (known: " + std::string(kKnown) + ")";
    return false;
  }
  std::string_view value = argument.substr(eq + 1);
  if (key == "prefix") {
    prefix_ = std::string(value);
    return true;
  }
  // The module names a deployment's options by hand.
  static constexpr std::string_view kOptions[] = {"db",
                                                  "user",
                                                  "password",
                                                  "timeout",
                                                  "tls",
                                                  "tls_ca",
                                                  "tls_cert",
                                                  "tls_key",
                                                  "tls_server_name",
                                                  "sentinel_user",
                                                  "sentinel_password"};
  bool known = false;
  for (std::string_view k : kOptions) known = known || k == key;
  if (!known) {
    *error = "invalid parameter \"" + std::string(key) + "\" (known: " + std::string(kKnown) + ")";
    return false;
  }
  std::string why;
  if (!deployment_.ApplyOption(key, value, &why)) {
    *error = "invalid redis parameter: " + why;
    return false;
  }
  return true;
}

bool RedisConfig::Finish(std::string* error) {
  std::string why;
  if (!deployment_.Check(&why)) {
    *error = "invalid redis parameters: " + why;
    return false;
  }
  const RedisSchema::Layout layout = deployment_.kind == RedisDeployment::Kind::kCluster
                                         ? RedisSchema::Layout::kCluster
                                         : RedisSchema::Layout::kSingle;
  if (!RedisSchema::CheckPrefix(prefix_, layout, &why)) {
    *error = "invalid redis prefix: " + why;
    return false;
  }
  RedisEndpoint ep;
  if (deployment_.tls.enabled) {
    // The files are read now, by the master (a key only root may read included); the workers
    // inherit the context.
    SslCtxPtr context = RedisTls::NewContext(deployment_.tls, &why);
    if (!context) {
      *error = "invalid redis tls parameters: " + why;
      return false;
    }
    ep.tls.context = std::shared_ptr<SSL_CTX>(context.release(), SSL_CTX_free);
    ep.tls.server_name = deployment_.tls.server_name;
  }
  ep.user = deployment_.user;
  ep.password = deployment_.password;
  ep.db = deployment_.db;
  ep.prefix = prefix_;
  ep.timeout_ms = deployment_.timeout_ms;
  if (!deployment_.socket_path.empty()) {
    ep.unix_path = deployment_.socket_path;
  } else if (deployment_.kind == RedisDeployment::Kind::kSentinel) {
    ep.master_name = deployment_.master_name;
    RedisDeployment::Credentials sentinel = deployment_.SentinelCredentials();
    ep.sentinel_user = sentinel.user;
    ep.sentinel_password = sentinel.password;
    for (const RedisNodeAddress& s : deployment_.servers) {
      RedisNodeAddress resolved{"", s.port};
      if (!Resolve(s.host, &resolved.host, error)) return false;
      ep.sentinels.push_back(std::move(resolved));
      ep.sentinel_names.push_back(s.host);
    }
  } else if (deployment_.kind == RedisDeployment::Kind::kCluster) {
    for (const RedisNodeAddress& seed : deployment_.servers) {
      RedisNodeAddress resolved{"", seed.port};
      if (!Resolve(seed.host, &resolved.host, error)) return false;
      ep.cluster_seeds.push_back(std::move(resolved));
      ep.cluster_seed_names.push_back(seed.host);
    }
  } else {
    const RedisNodeAddress& server = deployment_.servers.front();
    if (!Resolve(server.host, &ep.host, error)) return false;
    ep.port = server.port;
    ep.host_name = server.host;
  }
  endpoint_ = std::move(ep);
  return true;
}

}  // namespace warden
