#pragma once

#include <chrono>
#include <memory>
#include <string>
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
//   topo.primary().Kill();                         // kill -9
//   ASSERT_TRUE(topo.WaitForPrimary(topo.replica().address(), 30s));
class SentinelTopology {
 public:
  static constexpr const char* kMaster = "mymaster";

  // `password`: requirepass on the primary and the replica (masterauth, sentinel auth-pass);
  // the Sentinels themselves have none.
  explicit SentinelTopology(const std::string& password = "");

  RedisServer& primary() { return *primary_; }
  RedisServer& replica() { return *replica_; }
  RedisServer& sentinel(size_t i) { return *sentinels_.at(i); }

  // "sentinel://[:PASSWORD@]127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster?db=0"
  std::string url() const;
  // What the first Sentinel that answers names as the primary ("127.0.0.1:PORT"), or "".
  std::string SentinelsPrimary() const;
  // Waits until the Sentinels name `address` as the primary and it answers ROLE as a master.
  bool WaitForPrimary(const std::string& address, std::chrono::milliseconds timeout) const;

 private:
  std::string password_;
  std::unique_ptr<RedisServer> primary_;
  std::unique_ptr<RedisServer> replica_;
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

}  // namespace warden::test
