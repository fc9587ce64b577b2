#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/redis_server.h"

namespace warden::test {

// A Redis Cluster on loopback for integration tests: `primaries` redis-servers started with
// --cluster-enabled (each on a free port with a free cluster-bus port, in its own temporary
// directory; `replicas` more per primary), joined by `redis-cli --cluster create`. The
// constructor returns once every node reports cluster_state:ok and serves the same slot map;
// everything is killed and removed with the object.
//
//   RedisCluster cluster;                                  // 3 primaries, no replica
//   RunWarden({.args = {"ban", "192.0.2.1"}, .redis = cluster.url()});
//   size_t owner = cluster.OwnerOf(RedisCluster::Slot("warden:{bl}:entries"));
//   cluster.MoveSlot(slot, (owner + 1) % 3);               // IMPORTING/MIGRATING, MIGRATE, NODE
//   cluster.node(owner).Kill();
//
// The binaries are $WARDEN_REDIS_SERVER / $WARDEN_REDIS_CLI if set, else from PATH.
class RedisCluster {
 public:
  struct Options {
    int primaries = 3;
    int replicas = 0;  // per primary
    std::string password;
    // cluster-node-timeout: how long until the others call a silent node failed.
    int node_timeout_ms = 1000;
    // TLS on every node's port, on the cluster bus and for replication (tls-cluster yes);
    // the nodes are set up over their plain unix sockets. With TLS, a node's port as seen
    // through those (OwnerOf, ReplicasOf, Primaries) is 0: use url() and the CLI.
    std::optional<RedisServer::Tls> tls;
  };

  RedisCluster() : RedisCluster(Options()) {}
  // Throws std::runtime_error (with what redis-cli said) when the cluster does not form.
  explicit RedisCluster(Options options);

  size_t size() const { return nodes_.size(); }
  RedisServer& node(size_t i) { return *nodes_.at(i); }

  // "cluster://[:PASSWORD@]127.0.0.1:P1,127.0.0.1:P2,..." (every node a seed; with TLS
  // "?tls=on&tls_ca=CA").
  std::string url() const;
  // A key's slot (common/cluster_slots.h).
  static int Slot(const std::string& key);
  // The node (index) that serves `slot` now, as a live node's CLUSTER SLOTS says.
  size_t OwnerOf(int slot) const;
  // The replicas (indexes) of the primary that serves `slot` now, as CLUSTER SLOTS lists them.
  std::vector<size_t> ReplicasOf(int slot) const;
  // The indexes of the nodes that serve slots now.
  std::vector<size_t> Primaries() const;
  std::string NodeId(size_t i) const;
  // Runs a command on the node that serves `key`'s slot.
  RedisValue CommandFor(const std::string& key, const std::vector<std::string>& args) const;

  // A slot's migration, step by step, as `redis-cli --cluster reshard` does it: BeginMigration
  // marks it IMPORTING on `to` and MIGRATING on `from`; MigrateKeys moves keys of the slot
  // (all of them when `keys` is empty) with MIGRATE; FinishMigration gives the slot to `to` on
  // every node (CLUSTER SETSLOT NODE). MoveSlot does all three.
  void BeginMigration(int slot, size_t from, size_t to);
  void MigrateKeys(int slot, size_t from, size_t to, const std::vector<std::string>& keys = {});
  void FinishMigration(int slot, size_t from, size_t to);
  void MoveSlot(int slot, size_t to);

  // Waits until every node still running reports cluster_state `state` ("ok", "fail").
  bool WaitForState(const std::string& state, std::chrono::milliseconds timeout) const;
  // Waits until every node still running gives `slot` to node `owner`.
  bool WaitForOwner(int slot, size_t owner, std::chrono::milliseconds timeout) const;

 private:
  // CLUSTER SLOTS from the first node that answers.
  RedisValue Slots() const;
  size_t IndexOfPort(long long port) const;
  RedisValue Checked(size_t node, const std::vector<std::string>& args) const;

  Options options_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace warden::test
