// The job coordinator on a Redis Cluster with replicas: a claim that may run is acknowledged by
// a replica of its own slot's primary first (WAIT 1 on that node), so that the cluster's own
// failover cannot lose it; when that replica does not acknowledge in time, the fire time does
// not run (at most once) and the claim stays taken.
#include "scheduler/redis_coordinator.h"

#include <gtest/gtest.h>

#include <string>

#include "base/errors.h"
#include "common/redis_deployment.h"
#include "storage/redis/redis_connection.h"
#include "support/redis_cluster.h"

namespace warden {
namespace {

using test::RedisCluster;

RedisDeployment Deployment(const std::string& text) {
  std::string error;
  auto d = RedisDeployment::Parse(text, &error);
  EXPECT_TRUE(d.has_value()) << error;
  return d.value_or(RedisDeployment{});
}

TEST(RedisCoordinatorClusterTest, AClaimWaitsForAReplicaOfItsOwnSlot) {
  RedisCluster cluster({.primaries = 3, .replicas = 1});
  RedisConnection conn = RedisConnection::Connect(Deployment(cluster.url()), 2000);
  RedisCoordinator coordinator("warden:");
  coordinator.Attach(&conn);
  JobSpec job;
  job.name = "nightly";
  job.lease_ms = 60000;

  JobCoordinator::Claim first = coordinator.TryClaim(job, 1000, false, "lease-a");
  ASSERT_EQ(first.outcome, JobCoordinator::Claim::Outcome::kRun);
  coordinator.Release(job, "lease-a", "");

  // The replica of the job's slot stops: the primary still lists it, so the claim waits for it,
  // in vain. (A WAIT sent to another primary would be answered by that one's live replica.)
  const int slot = RedisCluster::Slot(coordinator.Key(job.name, "claimed"));
  const std::vector<size_t> replicas = cluster.ReplicasOf(slot);
  ASSERT_EQ(replicas.size(), 1u);
  cluster.node(replicas[0]).Pause();
  try {
    coordinator.TryClaim(job, 2000, false, "lease-b");
    ADD_FAILURE() << "a claim ran that no replica of its slot acknowledged";
  } catch (const RedisReplyError& e) {
    EXPECT_NE(std::string(e.what()).find("reached no replica"), std::string::npos) << e.what();
  }
  cluster.node(replicas[0]).Resume();

  // That fire time stays claimed: it is not run later either.
  EXPECT_EQ(coordinator.TryClaim(job, 2000, false, "lease-c").outcome,
            JobCoordinator::Claim::Outcome::kTaken);
  JobCoordinator::Claim next = coordinator.TryClaim(job, 3000, false, "lease-d");
  EXPECT_EQ(next.outcome, JobCoordinator::Claim::Outcome::kRun);
  EXPECT_GT(next.fence, first.fence);
}

}  // namespace
}  // namespace warden
