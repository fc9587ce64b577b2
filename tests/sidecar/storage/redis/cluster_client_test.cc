// The sidecar's connection to a real Redis Cluster (tests/support/redis_cluster.h: three
// primaries on loopback): commands and pipelines routed to the primary of their slot, scripts,
// SCAN on every primary, MOVED and ASK during a slot's migration, TRYAGAIN bounded, ACL users
// and passwords on every node, and a killed primary without a replica as one line, not a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/errors.h"
#include "common/cluster_slots.h"
#include "common/redis_deployment.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_script.h"
#include "support/redis_cluster.h"

namespace warden {
namespace {

using namespace std::chrono_literals;
using test::RedisCluster;

RedisConnection Connect(const std::string& url, int64_t timeout_ms = 2000) {
  std::string error;
  auto deployment = RedisDeployment::Parse(url, &error);
  if (!deployment) throw std::runtime_error(error);
  return RedisConnection::Connect(*deployment, timeout_ms);
}

std::string Get(RedisConnection& conn, const std::string& key) {
  RedisReply reply = conn.Command({"GET", key});
  reply.view().ThrowIfError();
  return reply.view().is_nil() ? "(nil)" : std::string(reply.view().str());
}

// Keys whose slots are served by each of the three primaries, several per primary.
std::vector<std::string> SpreadKeys(const RedisCluster& cluster) {
  std::vector<std::string> keys;
  std::vector<int> per_node(cluster.size(), 0);
  for (int i = 0; keys.size() < 12; ++i) {
    const std::string key = "key:" + std::to_string(i);
    size_t owner = cluster.OwnerOf(RedisCluster::Slot(key));
    if (per_node[owner] < 4) {
      ++per_node[owner];
      keys.push_back(key);
    }
  }
  return keys;
}

TEST(ClusterClientIntegrationTest, RoutesCommandsPipelinesScriptsAndScans) {
  RedisCluster cluster;
  RedisConnection conn = Connect(cluster.url());
  ASSERT_NE(conn.cluster(), nullptr);
  EXPECT_EQ(conn.found_via(), "cluster slots");
  EXPECT_EQ(conn.cluster()->slots().Primaries().size(), 3u);
  EXPECT_TRUE(conn.endpoint().starts_with("cluster 127.0.0.1:")) << conn.endpoint();

  // Each key lands on the primary of its slot (read back there, not through the client).
  const std::vector<std::string> keys = SpreadKeys(cluster);
  for (const std::string& key : keys) {
    conn.Command({"SET", key, "v-" + key}).view().ThrowIfError();
    EXPECT_EQ(cluster.CommandFor(key, {"GET", key}).str, "v-" + key);
  }
  // A pipeline over the three primaries: replies in the order queued.
  for (const std::string& key : keys) {
    conn.Append({"GET", key});
    conn.Append({"INCR", "n:" + key});
  }
  for (const std::string& key : keys) {
    RedisReply value = conn.GetReply("GET");
    EXPECT_EQ(value.view().str(), "v-" + key);
    EXPECT_EQ(conn.GetReply("INCR").view().integer(), 1);
  }
  // Keyless commands go to a primary; SCRIPT LOAD to every one, so EVALSHA runs anywhere.
  EXPECT_EQ(conn.Command({"TIME"}).view().size(), 2u);
  RedisScript script("return redis.call('GET', KEYS[1]) .. ARGV[1]");
  for (const std::string& key : keys) {
    RedisReply reply = script.Run(conn, {key}, {"!"});
    EXPECT_EQ(reply.view().str(), "v-" + key + "!");
  }
  EXPECT_EQ(conn.cluster()->stats().moved, 0);
  // SCAN on every primary.
  std::vector<std::string> found = conn.ScanKeys("key:*");
  EXPECT_EQ(found.size(), keys.size());
  // Keys of two slots in one command: refused here, nothing sent, the connection still good.
  EXPECT_THROW(conn.Command({"DEL", keys[0], keys[4]}), RedisReplyError);
  EXPECT_THROW(conn.Command({"SCAN", "0"}), RedisReplyError);
  EXPECT_TRUE(conn.healthy());
  EXPECT_EQ(Get(conn, keys[0]), "v-" + keys[0]);
}

TEST(ClusterClientIntegrationTest, FollowsMovedAndAskDuringAMigration) {
  RedisCluster cluster;
  RedisConnection conn = Connect(cluster.url());
  const std::string key = "{moving}:a";
  const int slot = RedisCluster::Slot(key);
  conn.Command({"SET", key, "1"}).view().ThrowIfError();
  conn.Command({"SET", "{moving}:b", "2"}).view().ThrowIfError();
  const size_t from = cluster.OwnerOf(slot);
  const size_t to = (from + 1) % cluster.size();

  // Half-way: one key moved. Reading it asks the new node (ASK, once, map unchanged); a
  // key not moved yet is read where it is; a new key is written on the new node.
  cluster.BeginMigration(slot, from, to);
  cluster.MigrateKeys(slot, from, to, {key});
  EXPECT_EQ(Get(conn, key), "1");
  EXPECT_EQ(conn.cluster()->stats().asked, 1);
  EXPECT_EQ(Get(conn, "{moving}:b"), "2");
  conn.Command({"SET", "{moving}:c", "3"}).view().ThrowIfError();
  EXPECT_EQ(conn.cluster()->stats().asked, 2);

  // A script over a key moved and one not: TRYAGAIN, retried a bounded number of times, then
  // one line; the connection is then dropped, as after any failure of the cluster.
  RedisScript both("return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])");
  try {
    both.Run(conn, {key, "{moving}:b"}, {});
    ADD_FAILURE() << "a script over a half-migrated slot ran";
  } catch (const RedisIoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("TRYAGAIN"), std::string::npos) << what;
    EXPECT_NE(what.find("still after"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_FALSE(conn.healthy());

  // The rest moves, the slot is the new node's: a connection with the old map gets MOVED,
  // corrects it and reads the map again; pipelines too.
  RedisConnection stale = Connect(cluster.url());
  cluster.MigrateKeys(slot, from, to);
  cluster.FinishMigration(slot, from, to);
  ASSERT_TRUE(cluster.WaitForOwner(slot, to, 10s));
  stale.Append({"GET", key});
  stale.Append({"GET", "{moving}:b"});
  stale.Append({"GET", "{moving}:c"});
  EXPECT_EQ(stale.GetReply("GET").view().str(), "1");
  EXPECT_EQ(stale.GetReply("GET").view().str(), "2");
  EXPECT_EQ(stale.GetReply("GET").view().str(), "3");
  const int64_t moved = stale.cluster()->stats().moved;  // each command of the pipeline
  EXPECT_GE(moved, 1);
  EXPECT_GE(stale.cluster()->stats().refreshes, 1);
  EXPECT_EQ(both.Run(stale, {key, "{moving}:b"}, {}).view().str(), "12");
  EXPECT_EQ(stale.cluster()->stats().moved, moved);  // the new map: no MOVED any more
  EXPECT_EQ(stale.cluster()->slots().PrimaryFor(slot)->port, cluster.node(to).port());
}

TEST(ClusterClientIntegrationTest, PasswordsAndAclUsersOnEveryNode) {
  const std::string secret = "clu5ter-Pw";
  RedisCluster cluster({.password = secret});
  RedisConnection conn = Connect(cluster.url());
  for (const std::string& key : SpreadKeys(cluster)) {
    conn.Command({"SET", key, "x"}).view().ThrowIfError();
  }
  // An ACL user on every node (ACLs are per node).
  for (size_t i = 0; i < cluster.size(); ++i) {
    ASSERT_FALSE(cluster.node(i)
                     .Command({"ACL", "SETUSER", "warden", "on", ">user-Pw", "~*", "+@all"})
                     .is_error());
  }
  std::string url = cluster.url();
  url.replace(url.find(":" + secret + "@"), secret.size() + 2, "warden:user-Pw@");
  RedisConnection user = Connect(url);
  for (const std::string& key : SpreadKeys(cluster)) EXPECT_EQ(Get(user, key), "x");

  url = cluster.url();
  url.replace(url.find(secret), secret.size(), "wrong-pw");
  try {
    Connect(url);
    ADD_FAILURE() << "connected with a wrong password";
  } catch (const RedisConnectError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("found no slot map of Redis Cluster"), std::string::npos) << what;
    EXPECT_NE(what.find("refused the credentials (the password)"), std::string::npos) << what;
    EXPECT_EQ(what.find("wrong-pw"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(ClusterClientIntegrationTest, AKilledPrimaryWithoutReplicaIsOneLine) {
  RedisCluster cluster;
  const std::vector<std::string> keys = SpreadKeys(cluster);
  const size_t dead = cluster.OwnerOf(RedisCluster::Slot(keys[0]));
  std::string alive_key;
  for (const std::string& key : keys) {
    if (cluster.OwnerOf(RedisCluster::Slot(key)) != dead) alive_key = key;
  }
  RedisConnection conn = Connect(cluster.url());
  conn.Command({"SET", alive_key, "here"}).view().ThrowIfError();
  cluster.node(dead).Kill();

  // A connection open to it breaks: one line naming the node and the slot.
  const std::string node_name = "Redis Cluster node " + cluster.node(dead).address();
  try {
    Get(conn, keys[0]);
    Get(conn, keys[0]);  // (the first write may still have been taken by the kernel)
    ADD_FAILURE() << "read a key of a dead primary";
  } catch (const RedisIoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(node_name), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_FALSE(conn.healthy());
  // A new connection skips the dead seed and still serves the others' slots; the dead one's:
  // the map read again still names it, so one line saying it is unreachable.
  RedisConnection next = Connect(cluster.url());
  EXPECT_EQ(Get(next, alive_key), "here");
  try {
    Get(next, keys[0]);
    ADD_FAILURE() << "read a key of a dead primary";
  } catch (const RedisIoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(node_name + " (the primary of slot " +
                        std::to_string(RedisCluster::Slot(keys[0])) + ") is unreachable"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  // Once the cluster declares itself down (no replica to promote): CLUSTERDOWN, bounded, one
  // line.
  ASSERT_TRUE(cluster.WaitForState("fail", 20s));
  RedisConnection down = Connect(cluster.url());
  try {
    Get(down, alive_key);
    ADD_FAILURE() << "read from a cluster that is down";
  } catch (const RedisIoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("CLUSTERDOWN"), std::string::npos) << what;
    EXPECT_NE(what.find("still after"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace warden
