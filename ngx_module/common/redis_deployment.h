#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_node_address.h"

namespace warden {

// Which Redis Warden talks to, named the same way by nginx's `warden_redis` and by the sidecar's
// URL or config:
//   host[:port]                          one server (nginx's form; as redis://host:port)
//   redis://[[user]:password@]host[:port][/db]   rediss:// is the same with tls=on
//   unix:///path/redis.sock              (also unix:/path/redis.sock)
//   sentinel://[[user]:password@]host1[:port],host2[:port]/MASTER   (Sentinel port 26379)
//   cluster://[[user]:password@]host1[:port],host2[:port]           (seed nodes; db 0 only)
// followed by options, ?key=value&... in a URL or one `key=value` argument each in nginx:
//   db=N user=ACL-USER password=P timeout=1ms..60s (a bare number is milliseconds)
//   sentinel_user=U sentinel_password=P (sentinel:// only: what the Sentinels take, when it
//   is not what the data nodes take; sentinel_password= empty: the Sentinels take none)
//   tls=on|off tls_ca=FILE tls_cert=FILE tls_key=FILE tls_server_name=NAME
// IPv6 hosts go in brackets ([::1]:7000). This is only the name: connecting, following a
// failover or a slot map is not here (docs/topology.md).
struct RedisDeployment {
  enum class Kind { kSingle, kSentinel, kCluster };

  static constexpr int kDefaultPort = 6379;
  static constexpr int kDefaultSentinelPort = 26379;

  struct Tls {
    bool enabled = false;
    std::string ca_file;    // empty: the system's trust store
    std::string cert_file;  // a client certificate, with key_file
    std::string key_file;
    std::string server_name;  // SNI and the name checked; empty: the host connected to
  };

  Kind kind = Kind::kSingle;
  // kSingle: the one server (empty with a unix socket); kSentinel: the Sentinels to ask;
  // kCluster: the nodes to ask for the slot map. Never empty otherwise.
  std::vector<RedisNodeAddress> servers;
  std::string socket_path;  // kSingle over a unix socket
  std::string master_name;  // kSentinel: the name the Sentinels monitor
  int db = 0;               // always 0 for kCluster
  std::string user;         // empty: the default user
  std::string password;     // empty: no AUTH
  // kSentinel: the Sentinels' own credentials; unset, they get the data nodes' (user and
  // password above), and a Sentinel without a password is asked anyway.
  std::string sentinel_user;
  std::optional<std::string> sentinel_password;
  Tls tls;
  int timeout_ms = 1000;
  bool timeout_given = false;  // timeout= was among the options (the sidecar's precedence)

  // On failure returns nullopt and sets `error` to one line that names what is wrong; it shows
  // the text only through Redact(), so never a password.
  static std::optional<RedisDeployment> Parse(std::string_view text, std::string* error);

  // Applies one option (the list above) to an already parsed deployment, as nginx's
  // `warden_redis` does with each argument after the address; then Check() again. On failure
  // `why` names the key, never the value.
  bool ApplyOption(std::string_view key, std::string_view value, std::string* why);

  // What the options together must satisfy (TLS files in pairs, no TLS over a unix socket, db 0
  // in a cluster). On failure `why` says what.
  bool Check(std::string* why) const;

  // What to send a Sentinel: its own credentials when given, else the data nodes'. `strict`:
  // given on purpose, so a refusal is an error (the data nodes' may just not be a Sentinel's).
  struct Credentials {
    std::string user;
    std::string password;  // empty: no AUTH
    bool strict = false;
  };
  Credentials SentinelCredentials() const;

  // `text` as it may be shown: the password and every option's value become "***".
  static std::string Redact(std::string_view text);

  // The parsed deployment for a log line, without secrets: "sentinel mymaster via
  // a:26379,b:26379 db 2 user warden tls".
  std::string Describe() const;
};

}  // namespace warden
