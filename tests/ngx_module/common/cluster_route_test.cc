// Routing in a Redis Cluster without a network: which slot (or node) each command the module
// and the sidecar send goes to.
#include "common/cluster_route.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/cluster_slots.h"
#include "common/redis_schema.h"

namespace warden {
namespace {

using Kind = ClusterRoute::Kind;

TEST(ClusterRouteTest, ACommandGoesToItsKeysSlot) {
  ClusterRoute get = ClusterRoute::For(std::vector<std::string>{"GET", "foo"});
  EXPECT_EQ(get.kind, Kind::kSlot);
  EXPECT_EQ(get.slot, 12182);
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"hget", "foo", "f"}).slot, 12182);
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"ZADD", "bar", "1", "m"}).slot, 5061);
  // Several keys: one slot, or a refusal before anything is sent.
  ClusterRoute del = ClusterRoute::For(std::vector<std::string>{"DEL", "{u1}.a", "{u1}.b"});
  EXPECT_EQ(del.kind, Kind::kSlot);
  EXPECT_EQ(del.slot, ClusterKeySlot("u1"));
  ClusterRoute cross = ClusterRoute::For(std::vector<std::string>{"DEL", "foo", "bar"});
  EXPECT_EQ(cross.kind, Kind::kRefused);
  EXPECT_NE(cross.why.find("CROSSSLOT"), std::string::npos) << cross.why;
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"MSET", "{t}a", "1", "{t}b", "2"}).kind,
            Kind::kSlot);
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"MSET", "a", "1", "b", "2"}).kind,
            Kind::kRefused);
  EXPECT_EQ(
      ClusterRoute::For(std::vector<std::string>{"ZUNIONSTORE", "{m}d", "2", "{m}a", "{m}b"}).kind,
      Kind::kSlot);
  EXPECT_EQ(
      ClusterRoute::For(std::vector<std::string>{"ZUNIONSTORE", "d", "2", "{m}a", "{m}b"}).kind,
      Kind::kRefused);
}

TEST(ClusterRouteTest, ScriptsGoToTheirKeysSlot) {
  ClusterRoute two =
      ClusterRoute::For(std::vector<std::string>{"EVALSHA", "abc", "2", "{bl}x", "{bl}y", "arg"});
  EXPECT_EQ(two.kind, Kind::kSlot);
  EXPECT_EQ(two.slot, ClusterKeySlot("bl"));
  // The arguments after the keys are not keys.
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"EVAL", "return 1", "1", "foo", "bar"}).slot,
            12182);
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"EVAL", "return 1", "0", "foo"}).kind,
            Kind::kAnyNode);
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"EVAL", "return 1", "2", "foo"},
        std::vector<std::string>{"EVAL", "return 1", "-1"},
        std::vector<std::string>{"EVAL", "return 1", "x", "foo"},
        std::vector<std::string>{"EVALSHA", "abc"}}) {
    EXPECT_EQ(ClusterRoute::For(bad).kind, Kind::kRefused) << bad[2 % bad.size()];
  }
}

// The blacklist follower's read of the change stream: the keys follow STREAMS.
TEST(ClusterRouteTest, StreamReadsGoToTheirStreamsSlot) {
  ClusterRoute read = ClusterRoute::For(std::vector<std::string>{
      "XREAD", "COUNT", "1000", "BLOCK", "1000", "STREAMS", "{bl}log", "0-0"});
  EXPECT_EQ(read.kind, Kind::kSlot) << read.why;
  EXPECT_EQ(read.slot, ClusterKeySlot("bl"));
  EXPECT_EQ(
      ClusterRoute::For(std::vector<std::string>{"xread", "streams", "{a}x", "{a}y", "0", "0"})
          .slot,
      ClusterKeySlot("a"));
  EXPECT_EQ(
      ClusterRoute::For(std::vector<std::string>{"XREAD", "STREAMS", "a", "b", "0", "0"}).kind,
      Kind::kRefused);
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"XREAD", "COUNT", "1"},
        std::vector<std::string>{"XREAD", "STREAMS", "a", "b", "0"},
        std::vector<std::string>{"XREAD", "STREAMS"}}) {
    EXPECT_EQ(ClusterRoute::For(bad).kind, Kind::kRefused) << bad.size();
  }
}

TEST(ClusterRouteTest, CommandsWithoutKeys) {
  for (const char* name : {"TIME", "PING", "ROLE", "INFO", "time"}) {
    EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{name}).kind, Kind::kAnyNode) << name;
  }
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"SCRIPT", "LOAD", "return 1"}).kind,
            Kind::kEveryPrimary);
  ClusterRoute scan = ClusterRoute::For(std::vector<std::string>{"SCAN", "0", "MATCH", "x*"});
  EXPECT_EQ(scan.kind, Kind::kRefused);
  EXPECT_NE(scan.why.find("each primary"), std::string::npos) << scan.why;
  ClusterRoute unknown = ClusterRoute::For(std::vector<std::string>{"FROB", "x"});
  EXPECT_EQ(unknown.kind, Kind::kRefused);
  EXPECT_EQ(unknown.why, "Warden does not route FROB in a Redis Cluster");
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"GET"}).kind, Kind::kRefused);
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{}).kind, Kind::kRefused);
}

// What the sidecar sends with the cluster schema routes to one slot, as Redis will accept it.
TEST(ClusterRouteTest, TheSidecarsScriptCallsRoute) {
  RedisSchema s("warden:", RedisSchema::Layout::kCluster);
  const std::vector<std::vector<std::string>> calls = {
      {"EVALSHA", "sha", "5", s.BlacklistEntries(), s.BlacklistExpiry(), s.BlacklistSeq(),
       s.BlacklistLog(), s.BlacklistEpoch(), "100000", "epoch", "add", "192.0.2.1", "0", "v1"},
      {"EVAL", "script", "2", s.BlacklistEpoch(), s.BlacklistAccept()},
      {"EVALSHA", "sha", "3", s.TrafficKey("req", 29000000), s.TrafficKey("ref", 29000000),
       s.TrafficKey("sum", 29000000), "requests"},
      {"EVALSHA", "sha", "3", s.TrafficSeconds(), s.TrafficMinutes(), s.TrafficWriter(), "n"},
      {"EVALSHA", "sha", "5", s.JobKey("j", "claimed"), s.JobKey("j", "leases"),
       s.JobKey("j", "cancel"), s.JobKey("j", "queued"), s.JobKey("j", "fence"), "1"},
      {"EVALSHA", "sha", "2", "cache:home", s.CacheLock("cache:home"), "token"},
      {"HMGET", s.TrafficKey("dpath", 29000000), "192.0.2.1", "192.0.2.2"},
  };
  for (const auto& call : calls) {
    ClusterRoute route = ClusterRoute::For(call);
    EXPECT_EQ(route.kind, Kind::kSlot) << call[3] << ": " << route.why;
  }
  // Two minutes' traffic keys in one call would not: the reader goes per minute.
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"EVALSHA", "sha", "2",
                                                       s.TrafficKey("req", 29000000),
                                                       s.TrafficKey("req", 29000001)})
                .kind,
            Kind::kRefused);
}

}  // namespace
}  // namespace warden
