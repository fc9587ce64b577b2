// The sidecar on a Sentinel deployment (tests/support/sentinel_topology.h): it finds the primary
// through the Sentinels, follows a failover after `kill -9` of the primary within a bound,
// leaves a demoted primary for the new one without a restart, and keeps job claims fenced
// across the failover (a fire time claimed before it is not claimed again after it).
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "base/errors.h"
#include "common/redis_deployment.h"
#include "common/redis_schema.h"
#include "scheduler/redis_coordinator.h"
#include "storage/redis/primary_record.h"
#include "storage/redis/redis_connection.h"
#include "support/poll_until.h"
#include "support/redis_server.h"
#include "support/sentinel_topology.h"
#include "support/warden_cli.h"

namespace warden {
namespace {

using namespace std::chrono_literals;
using test::PollUntil;
using test::RedisServer;
using test::RedisValue;
using test::RunWarden;
using test::SentinelTopology;

// down-after 1 s, then an election: well within this on a loaded 2-core machine.
constexpr auto kFailoverBound = 30s;

RedisDeployment Deployment(const std::string& text) {
  std::string error;
  auto d = RedisDeployment::Parse(text, &error);
  EXPECT_TRUE(d.has_value()) << error;
  return d.value_or(RedisDeployment{});
}

TEST(SentinelFailoverTest, FindsThePrimaryThroughTheSentinels) {
  SentinelTopology topo;
  RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(conn.endpoint(), topo.primary().address());
  EXPECT_EQ(conn.found_via(), "sentinel " + topo.sentinel(0).address());

  // A first Sentinel that is down is skipped; a master name no Sentinel knows is one line.
  topo.sentinel(0).Kill();
  RedisConnection next = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(next.found_via(), "sentinel " + topo.sentinel(1).address());
  std::string url = topo.url();
  url.replace(url.find("/mymaster"), 9, "/othermaster");
  try {
    RedisConnection::Connect(Deployment(url), 2000);
    ADD_FAILURE() << "connected to a master no Sentinel monitors";
  } catch (const RedisConnectError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("found no primary for Sentinel master \"othermaster\""), std::string::npos)
        << what;
    EXPECT_NE(what.find("does not monitor \"othermaster\""), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

// Password-protected data nodes behind Sentinels that have none: the credentials work for the
// nodes, the Sentinels are asked without them, and a wrong password is one line without it.
TEST(SentinelFailoverTest, PasswordProtectedNodes) {
  const std::string secret = "sent1nel-Pw";
  SentinelTopology topo(secret);
  RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(conn.endpoint(), topo.primary().address());
  conn.Command({"SET", "k", "v"}).view().ThrowIfError();

  std::string url = topo.url();
  url.replace(url.find(secret), secret.size(), "wrong-pw");
  try {
    RedisConnection::Connect(Deployment(url), 2000);
    ADD_FAILURE() << "connected with a wrong password";
  } catch (const RedisConnectError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("refused the credentials (the password)"), std::string::npos) << what;
    EXPECT_EQ(what.find("wrong-pw"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

// Sentinels with a password of their own (sentinel_password=): found with it; without it the
// data nodes' password is tried and the refusal named; a wrong one is one line without it.
TEST(SentinelFailoverTest, SentinelsWithAPasswordOfTheirOwn) {
  SentinelTopology topo("data-Pw1", "sentinel-Pw2");
  RedisConnection conn =
      RedisConnection::Connect(Deployment(topo.url() + "&sentinel_password=sentinel-Pw2"), 2000);
  EXPECT_EQ(conn.endpoint(), topo.primary().address());
  conn.Command({"SET", "k", "v"}).view().ThrowIfError();

  for (const std::string& url : {topo.url(), topo.url() + "&sentinel_password=wrong-Pw3"}) {
    try {
      RedisConnection::Connect(Deployment(url), 2000);
      ADD_FAILURE() << "found a primary through Sentinels that refuse the credentials";
    } catch (const RedisConnectError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("refused the credentials"), std::string::npos) << what;
      for (const char* secret : {"data-Pw1", "sentinel-Pw2", "wrong-Pw3"}) {
        EXPECT_EQ(what.find(secret), std::string::npos) << what;
      }
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

// A replica still syncing is connected (the primary counts it) but not yet online (ROLE does not
// list it), and Sentinel may promote it: a claim waits for it, and does not run when it cannot
// acknowledge in time. (Here the primary delays its diskless sync by 5 s.)
TEST(SentinelFailoverTest, AClaimWaitsForAReplicaThatIsStillSyncing) {
  RedisServer::Options primary_options;
  primary_options.extra_args = {"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5"};
  RedisServer primary(primary_options);
  RedisServer::Options replica_options;
  replica_options.replica_of = primary.port();
  RedisServer replica(replica_options);
  RedisServer::Options sentinel_options;
  sentinel_options.sentinel = RedisServer::Sentinel{};
  sentinel_options.sentinel->master_port = primary.port();
  sentinel_options.sentinel->quorum = 1;
  RedisServer sentinel(sentinel_options);
  ASSERT_TRUE(PollUntil(
      [&] {
        return primary.Command({"INFO", "replication"}).str.find("connected_slaves:1") !=
               std::string::npos;
      },
      4s, 20ms));
  RedisValue role = primary.Command({"ROLE"});
  ASSERT_EQ(role.elements.size(), 3u);
  ASSERT_TRUE(role.elements[2].elements.empty()) << "the replica is online already";

  RedisConnection conn = RedisConnection::Connect(
      Deployment("sentinel://" + sentinel.address() + "/mymaster?db=0"), 2000);
  RedisCoordinator coordinator("warden:");
  coordinator.Attach(&conn);
  JobSpec job;
  job.name = "syncing";
  job.lease_ms = 60000;
  try {
    coordinator.TryClaim(job, 1000, false, "lease-a");
    ADD_FAILURE() << "a claim ran that a connected replica had not acknowledged";
  } catch (const RedisReplyError& e) {
    EXPECT_NE(std::string(e.what()).find("reached no replica"), std::string::npos) << e.what();
  }
}

TEST(SentinelFailoverTest, KillNineOfThePrimaryIsFollowedAndClaimsStayFenced) {
  SentinelTopology topo;
  const std::string old_primary = topo.primary().address();
  const std::string new_primary = topo.replica().address();

  test::RunResult before = RunWarden({.args = {"ban", "192.0.2.1"}, .redis = topo.url()});
  ASSERT_EQ(before.exit_code, 0) << test::Show(before);

  // A job's fire time claimed on the old primary (acknowledged by the replica: WAIT).
  JobSpec job;
  job.name = "failover";
  job.lease_ms = 60000;
  RedisConnection old_conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  RedisCoordinator old_coordinator("warden:");
  old_coordinator.Attach(&old_conn);
  JobCoordinator::Claim first = old_coordinator.TryClaim(job, 1000, false, "lease-a");
  ASSERT_EQ(first.outcome, JobCoordinator::Claim::Outcome::kRun);
  old_coordinator.Release(job, "lease-a", "");

  topo.KillPrimary();  // SIGKILL: no goodbye to anyone
  EXPECT_THROW(old_conn.Command({"PING"}), RedisIoError);
  EXPECT_FALSE(old_conn.healthy());

  // The CLI works again once the Sentinels promote the replica, without any change of config.
  const auto killed = std::chrono::steady_clock::now();
  test::RunResult after;
  bool promoted = PollUntil(
      [&] {
        after = RunWarden({.args = {"ban", "192.0.2.2"}, .redis = topo.url()}, std::nullopt, 10s);
        return after.exit_code == 0;
      },
      kFailoverBound, 200ms);
  ASSERT_TRUE(promoted) << "no ban within " << kFailoverBound.count() << " s of kill -9; "
                        << test::Show(after);
  std::cerr << "ban accepted again "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed)
                   .count()
            << " ms after kill -9\n";
  ASSERT_TRUE(topo.WaitForPrimary(new_primary, 5s));

  RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(conn.endpoint(), new_primary);
  test::RunResult list = RunWarden({.args = {"list"}, .redis = topo.url()});
  EXPECT_NE(list.out.find("192.0.2.1"), std::string::npos) << test::Show(list);
  EXPECT_NE(list.out.find("192.0.2.2"), std::string::npos) << test::Show(list);

  // The fire time claimed before the failover is not claimed again after it; the next one is,
  // with a larger fence.
  RedisCoordinator coordinator("warden:");
  coordinator.Attach(&conn);
  EXPECT_EQ(coordinator.TryClaim(job, 1000, false, "lease-b").outcome,
            JobCoordinator::Claim::Outcome::kTaken);
  JobCoordinator::Claim next = coordinator.TryClaim(job, 2000, false, "lease-c");
  ASSERT_EQ(next.outcome, JobCoordinator::Claim::Outcome::kRun);
  EXPECT_GT(next.fence, first.fence);

  // The sidecar that reached the new primary first recorded the failover.
  auto failover = PrimaryRecord::Last(conn, RedisSchema("warden:"));
  ASSERT_TRUE(failover.has_value());
  EXPECT_EQ(failover->from, old_primary);
  EXPECT_EQ(failover->to, new_primary);

  // The old primary comes back (empty: it persisted nothing) and is made a replica; the
  // sidecar keeps using the new primary.
  topo.RestartPrimary();
  EXPECT_TRUE(PollUntil(
      [&] {
        test::RedisValue role = topo.primary().Command({"ROLE"});
        return !role.elements.empty() && role.elements[0].str == "slave";
      },
      kFailoverBound, 100ms));
  test::RunResult again = RunWarden({.args = {"ban", "192.0.2.3"}, .redis = topo.url()});
  EXPECT_EQ(again.exit_code, 0) << test::Show(again);
}

TEST(SentinelFailoverTest, DemotedPrimaryIsLeftForTheNewOneWithoutRestart) {
  SentinelTopology topo;
  const std::string old_primary = topo.primary().address();
  RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  ASSERT_EQ(conn.endpoint(), old_primary);

  ASSERT_FALSE(topo.sentinel(0).Command({"SENTINEL", "FAILOVER", "mymaster"}).is_error());
  ASSERT_TRUE(topo.WaitForPrimary(topo.replica().address(), kFailoverBound));
  ASSERT_TRUE(PollUntil(
      [&] {
        test::RedisValue role = topo.primary().Command({"ROLE"});
        return !role.elements.empty() && role.elements[0].str == "slave";
      },
      kFailoverBound, 100ms));

  // The demoted primary answers a write with READONLY (or Sentinel closed our connection):
  // either way the connection is given up, and the next one goes to the new primary.
  EXPECT_THROW(conn.Command({"SET", "k", "v"}), RedisIoError);
  EXPECT_FALSE(conn.healthy());
  RedisConnection direct = RedisConnection::Connect(Deployment("redis://" + old_primary), 2000);
  try {
    direct.Command({"SET", "k", "v"});
    ADD_FAILURE() << "the demoted primary took a write";
  } catch (const RedisIoError& e) {
    EXPECT_NE(std::string(e.what()).find("READONLY"), std::string::npos) << e.what();
  }
  RedisConnection next = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(next.endpoint(), topo.replica().address());
  next.Command({"SET", "k", "v"}).view().ThrowIfError();
}

// A primary, `replicas` replicas in sync and one Sentinel that never fails over by itself
// (down-after 10 min): the tests promote a replica by hand, as a Sentinel leader's REPLICAOF NO
// ONE does, while the Sentinel still names the old primary (it would for ~1 s after the
// promotion in a real failover: +switch-master waits for its next INFO of the replica).
struct HandPromotedTopology {
  explicit HandPromotedTopology(int replica_count) {
    test::RedisServer::Options fast;
    fast.extra_args = {"--repl-diskless-sync-delay", "0"};
    primary = std::make_unique<test::RedisServer>(fast);
    for (int i = 0; i < replica_count; ++i) {
      test::RedisServer::Options options;
      options.replica_of = primary->port();
      replicas.push_back(std::make_unique<test::RedisServer>(options));
    }
    EXPECT_TRUE(PollUntil(
        [&] {
          test::RedisValue role = primary->Command({"ROLE"});
          return role.elements.size() == 3 &&
                 role.elements[2].elements.size() == static_cast<size_t>(replica_count);
        },
        20s));
    test::RedisServer::Options watching;
    watching.sentinel = test::RedisServer::Sentinel{.master_port = primary->port(),
                                                    .quorum = 1,
                                                    .down_after_ms = 600000,
                                                    .failover_timeout_ms = 600000};
    sentinel = std::make_unique<test::RedisServer>(watching);
    // Known and connected to (Sentinel would promote only such a replica).
    EXPECT_TRUE(PollUntil(
        [&] {
          test::RedisValue list = sentinel->Command({"SENTINEL", "REPLICAS", "mymaster"});
          if (list.elements.size() != static_cast<size_t>(replica_count)) return false;
          for (const test::RedisValue& entry : list.elements) {
            for (size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
              if (entry.elements[i].str == "flags" && entry.elements[i + 1].str != "slave") {
                return false;
              }
            }
          }
          return true;
        },
        30s, 100ms));
  }
  std::string url() const { return "sentinel://" + sentinel->address() + "/mymaster"; }
  std::string SentinelPrimary() const {
    test::RedisValue r = sentinel->Command({"SENTINEL", "get-master-addr-by-name", "mymaster"});
    return r.elements.size() == 2 ? r.elements[0].str + ":" + r.elements[1].str : "";
  }

  std::unique_ptr<test::RedisServer> primary;
  std::vector<std::unique_ptr<test::RedisServer>> replicas;
  std::unique_ptr<test::RedisServer> sentinel;
};

// The Sentinels name the old primary until +switch-master, ~1 s after the replica obeyed
// REPLICAOF NO ONE. When the primary named does not answer, the sidecar asks the Sentinel's
// replicas ROLE and uses the one that answers master; the CLI says so on one line.
TEST(SentinelFailoverTest, APromotedReplicaIsUsedWhenTheNamedPrimaryDoesNotAnswer) {
  HandPromotedTopology topo(1);
  const std::string old_primary = topo.primary->address();
  test::RedisServer& replica = *topo.replicas[0];
  topo.primary->Kill();

  // Not promoted yet: nothing to use, and the failure says what was tried.
  try {
    RedisConnection::Connect(Deployment(topo.url()), 2000);
    ADD_FAILURE() << "connected while no node is a primary";
  } catch (const RedisConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("found no primary"), std::string::npos) << e.what();
  }

  ASSERT_FALSE(replica.Command({"REPLICAOF", "NO", "ONE"}).is_error());
  ASSERT_EQ(topo.SentinelPrimary(), old_primary) << "the Sentinel already switched";
  RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(conn.endpoint(), replica.address());
  EXPECT_EQ(conn.promoted_from(), old_primary);
  EXPECT_NE(conn.found_via().find("promoted replica (" + old_primary + " did not answer"),
            std::string::npos)
      << conn.found_via();
  conn.Command({"SET", "k", "v"}).view().ThrowIfError();
  EXPECT_EQ(replica.Command({"GET", "k"}).str, "v");

  test::RunResult ban = RunWarden({.args = {"ban", "192.0.2.7"}, .redis = topo.url()});
  EXPECT_EQ(ban.exit_code, 0) << test::Show(ban);
  EXPECT_NE(
      ban.err.find("redis primary " + old_primary + " does not answer; using " + replica.address()),
      std::string::npos)
      << test::Show(ban);
  EXPECT_EQ(ban.err.find('\n'), ban.err.size() - 1) << "one line: " << test::Show(ban);
}

TEST(SentinelFailoverTest, TwoReplicasAnsweringMasterAreNotChosenBetween) {
  HandPromotedTopology topo(2);
  topo.primary->Kill();
  for (auto& replica : topo.replicas) {
    ASSERT_FALSE(replica->Command({"REPLICAOF", "NO", "ONE"}).is_error());
  }
  try {
    RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
    ADD_FAILURE() << "chose " << conn.endpoint() << " of two masters";
  } catch (const RedisConnectError& e) {
    EXPECT_NE(std::string(e.what()).find("2 replicas of " + topo.primary->address() +
                                         " answer ROLE master: not choosing between them"),
              std::string::npos)
        << e.what();
  }
}

// A primary that answers is the primary, whatever a replica says: the replicas are looked at
// only when the one the Sentinels name is silent.
TEST(SentinelFailoverTest, APrimaryThatAnswersIsKeptEvenIfAReplicaSaysMaster) {
  HandPromotedTopology topo(1);
  ASSERT_FALSE(topo.replicas[0]->Command({"REPLICAOF", "NO", "ONE"}).is_error());
  RedisConnection conn = RedisConnection::Connect(Deployment(topo.url()), 2000);
  EXPECT_EQ(conn.endpoint(), topo.primary->address());
  EXPECT_TRUE(conn.promoted_from().empty());
}

}  // namespace
}  // namespace warden
