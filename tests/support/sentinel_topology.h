#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.h"

namespace warden::test {

// A Sentinel deployment on loopback for failover tests: a primary, one replica and three
// Sentinels (quorum 2, down-after 1 s) built from RedisServer's modes, each on a free port in
// its own temporary directory. The constructor returns once the replica is in sync and every
// Sentinel knows the replica and the two other Sentinels, so a failover can be elected.
//
//   SentinelTopology topo;
//   RunWarden({.args = {"ban", "192.0.2.1"}, .redis = topo.url()});
//   topo.KillPrimary();                            // kill -9, its port kept from others
//   ASSERT_TRUE(topo.WaitForPrimary(topo.replica().address(), 30s));
class SentinelTopology {
 public:
  static constexpr const char* kMaster = "mymaster";

  // `password`: requirepass on the primary and the replica (masterauth, sentinel auth-pass);
  // `sentinel_password`: the Sentinels' own (requirepass, sentinel-pass), none if empty.
  explicit SentinelTopology(const std::string& password = "",
                            const std::string& sentinel_password = "");

  RedisServer& primary() { return *primary_; }
  RedisServer& replica() { return *replica_; }
  RedisServer& sentinel(size_t i) { return *sentinels_.at(i); }

  // kill -9 of the primary. Its port is then held by the topology until RestartPrimary(): a
  // server another test starts meanwhile would otherwise take the free port and pose as the old
  // primary (the replica would even sync from it). Connections to it are accepted and closed at
  // once, as a dead server's would be refused.
  void KillPrimary();
  // Starts the old primary again on its port (empty: it persisted nothing).
  void RestartPrimary();

  // "sentinel://[:PASSWORD@]127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster?db=0"
  std::string url() const;
  // What the first Sentinel that answers names as the primary ("127.0.0.1:PORT"), or "".
  std::string SentinelsPrimary() const;
  // Waits until the Sentinels name `address` as the primary and it answers ROLE as a master.
  bool WaitForPrimary(const std::string& address, std::chrono::milliseconds timeout) const;

 private:
  // Accepts and closes connections on a port while it lives.
  class PortHolder {
   public:
    explicit PortHolder(int port);
    ~PortHolder();

   private:
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
  };

  std::string password_;
  std::unique_ptr<PortHolder> held_port_;
  std::unique_ptr<RedisServer> primary_;
  std::unique_ptr<RedisServer> replica_;
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

}  // namespace warden::test
