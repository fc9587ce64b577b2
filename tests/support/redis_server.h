#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

struct redisContext;  // hiredis

namespace warden::test {

// A reply from RedisServer::Command, copied out of hiredis so tests can hold on to it.
struct RedisValue {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;                   // kString, kStatus, kError
  long long integer = 0;             // kInteger
  std::vector<RedisValue> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// A real, throwaway redis-server for integration tests: it listens on a free port on
// 127.0.0.1 and on a unix socket in its own temporary directory, persists nothing
// (--save "" --appendonly no), and is killed when the object is destroyed.
//
//   RedisServer redis;                       // started and answering PING
//   RunWarden({.args = {"list"}, .redis = redis.url()});  // support/warden_cli.h
//   EXPECT_EQ(redis.Command({"HLEN", "warden:bl:entries"}).integer, 1);
//   redis.Kill(); ... redis.Restart();       // same port, empty data
//
// Modes for topologies (docs/topology.md):
//   RedisServer replica({.replica_of = primary.port()});          // --replicaof 127.0.0.1 PORT
//   RedisServer sentinel({.sentinel = RedisServer::Sentinel{.master_port = primary.port()}});
//   RedisServer tls({.tls = RedisServer::Tls{ca, cert, key}});   // --tls-port, --port 0
// A TLS server answers Command/Ping on its unix socket (plain), so tests can set it up. A
// Sentinel with .tls listens with TLS only too and monitors its master over TLS.
//
// The binary is $WARDEN_REDIS_SERVER if set, else redis-server from PATH.
class RedisServer {
 public:
  // A Sentinel (redis-server CONF --sentinel) that monitors 127.0.0.1:master_port.
  struct Sentinel {
    int master_port = 0;
    std::string master_name = "mymaster";
    int quorum = 2;
    int down_after_ms = 1000;
    int failover_timeout_ms = 5000;
    std::string auth_pass;  // the monitored nodes' password (sentinel auth-pass), if any
  };
  // TLS on the server's port (plain TCP off): PEM files; with auth_clients the server asks
  // for a client certificate signed by ca_file.
  struct Tls {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool auth_clients = false;
  };

  struct Options {
    std::string password;                 // requirepass, if not empty (a Sentinel's own too)
    int replica_of = 0;                   // a port on 127.0.0.1: start as its replica
    std::optional<Sentinel> sentinel;     // start as a Sentinel instead of a data node
    std::optional<Tls> tls;               // TLS only on port()
    std::vector<std::string> extra_args;  // e.g. {"--maxmemory", "1mb"}
    std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
  };

  RedisServer() : RedisServer(Options()) {}
  // Starts the server; throws std::runtime_error (with the server's log) if it does not come up.
  explicit RedisServer(Options options);
  ~RedisServer() = default;  // the Process member kills the server
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Graceful: SHUTDOWN NOSAVE, then waits for the process to exit (SIGKILL after 5 s).
  void Stop();
  // SIGKILL, then waits: the server vanishes as in a crash.
  void Kill();
  // SIGSTOP, returning once the kernel shows it stopped: connections are still accepted, nothing
  // is answered or replicated. Resume() (SIGCONT) undoes it; Stop, Kill and the destructor too.
  void Pause();
  void Resume();
  // Starts again on the same port and directory (after Stop or Kill; data is gone).
  void Restart();
  bool running();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& dir() const { return dir_.path(); }
  std::string log_path() const { return dir_.File("redis.log"); }
  // "redis://127.0.0.1:PORT/0", or "redis://:PASSWORD@127.0.0.1:PORT/0" with a password
  // ("rediss://..." in TLS mode, without the tls_ options: add them).
  std::string url() const;
  // "127.0.0.1:PORT", for sentinel:// lists.
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  // "unix://SOCKET?db=0" (plus "&password=..." with a password).
  std::string unix_url() const;

  // Runs one command on a fresh connection (authenticated if needed). Error replies come back
  // as kError values; a failure to connect throws std::runtime_error.
  RedisValue Command(const std::vector<std::string>& args) const;
  // True when the server answers PING right now.
  bool Ping() const;
  // How many times the server has run `command` (lower case; a subcommand as "script|load"),
  // from INFO commandstats: 0 before the first.
  long long CommandCalls(const std::string& command) const;

 private:
  bool TryStart();  // false when the port was taken meanwhile
  std::vector<std::string> Argv() const;
  // A connection for Command/Ping: the unix socket in TLS mode, else TCP.
  redisContext* ConnectAdmin(int timeout_ms) const;

  Options options_;
  TempDir dir_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string socket_path_;
  std::optional<Process> process_;
};

}  // namespace warden::test
