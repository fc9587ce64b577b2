// Routing in a Redis Cluster without a network: which slot (or node) each command of the
// sidecar goes to, a CLUSTER SLOTS reply read into ranges, and what each error reply asks.
#include "storage/redis/cluster_route.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "base/errors.h"
#include "common/cache_value.h"
#include "common/cluster_slots.h"
#include "common/redis_schema.h"
#include "storage/redis/cluster_client.h"

namespace warden {
namespace {

using Kind = ClusterRoute::Kind;

// A reply as hiredis reads it from `resp` (no server).
RedisReply Parse(const std::string& resp, const char* command = "TEST") {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &raw), REDIS_OK);
  redisReaderFree(reader);
  EXPECT_NE(raw, nullptr) << resp;
  return RedisReply(static_cast<redisReply*>(raw), command);
}

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

TEST(ClusterRouteTest, CommandsWithoutKeys) {
  for (const char* name : {"TIME", "PING", "ROLE", "INFO", "time"}) {
    EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{name}).kind, Kind::kAnyNode) << name;
  }
  EXPECT_EQ(ClusterRoute::For(std::vector<std::string>{"SCRIPT", "LOAD", "return 1"}).kind,
            Kind::kEveryPrimary);
  ClusterRoute scan = ClusterRoute::For(std::vector<std::string>{"SCAN", "0", "MATCH", "x*"});
  EXPECT_EQ(scan.kind, Kind::kRefused);
  EXPECT_NE(scan.why.find("ScanKeys"), std::string::npos) << scan.why;
  ClusterRoute unknown = ClusterRoute::For(std::vector<std::string>{"FROB", "x"});
  EXPECT_EQ(unknown.kind, Kind::kRefused);
  EXPECT_EQ(unknown.why, "the sidecar does not route FROB in a Redis Cluster");
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

TEST(ClusterClientTest, ReadsClusterSlots) {
  // Two ranges: a primary with a replica (with ids and, Redis 7, a map of more names), a
  // primary named by nil and one by "" (the node asked), and a range whose primary is "?".
  const std::string resp =
      "*4\r\n"
      "*4\r\n:0\r\n:5460\r\n"
      "*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid1\r\n*0\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$3\r\nid4\r\n"
      "*3\r\n:5461\r\n:10922\r\n*3\r\n$-1\r\n:7001\r\n$3\r\nid2\r\n"
      "*3\r\n:10923\r\n:16000\r\n*2\r\n$0\r\n\r\n:7002\r\n"
      "*3\r\n:16001\r\n:16383\r\n*2\r\n$1\r\n?\r\n:7005\r\n";
  RedisReply reply = Parse(resp, "CLUSTER");
  std::vector<ClusterSlotRange> ranges = ClusterClient::ParseSlots(reply.view(), "10.0.0.9");
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].last, 5460);
  EXPECT_EQ(ranges[0].primary.ToString(), "127.0.0.1:7000");
  ASSERT_EQ(ranges[0].replicas.size(), 1u);
  EXPECT_EQ(ranges[0].replicas[0].ToString(), "127.0.0.1:7003");
  EXPECT_EQ(ranges[1].primary.ToString(), "10.0.0.9:7001");
  EXPECT_EQ(ranges[2].primary.ToString(), "10.0.0.9:7002");
  EXPECT_EQ(ranges[2].last, 16000);
  std::string why;
  auto map = ClusterSlotMap::Build(ranges, &why);
  ASSERT_TRUE(map) << why;
  EXPECT_FALSE(map->Complete());  // 16001-16383: nobody we can reach
  EXPECT_EQ(map->PrimaryFor(16383), nullptr);
}

TEST(ClusterClientTest, AnUnexpectedSlotsReplyIsOneError) {
  for (const char* resp : {"+OK\r\n", "*1\r\n:1\r\n", "*1\r\n*3\r\n:0\r\n:1\r\n:7\r\n",
                           "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n:70000\r\n"}) {
    RedisReply reply = Parse(resp, "CLUSTER");
    EXPECT_THROW(ClusterClient::ParseSlots(reply.view(), "h"), RedisReplyError) << resp;
  }
}

TEST(ClusterClientTest, WhatEachReplyAsks) {
  using Step = ClusterClient::Step;
  Step moved = ClusterClient::Decide(Parse("-MOVED 3999 127.0.0.1:6381\r\n").view(), "h");
  EXPECT_EQ(moved.kind, Step::Kind::kMoved);
  EXPECT_EQ(moved.slot, 3999);
  EXPECT_EQ(moved.target.ToString(), "127.0.0.1:6381");
  // Redis 7 may leave the host out: the node that replied.
  Step here = ClusterClient::Decide(Parse("-MOVED 3999 :6381\r\n").view(), "10.0.0.2");
  EXPECT_EQ(here.target.ToString(), "10.0.0.2:6381");
  Step ask = ClusterClient::Decide(Parse("-ASK 12182 127.0.0.1:7002\r\n").view(), "h");
  EXPECT_EQ(ask.kind, Step::Kind::kAsk);
  EXPECT_EQ(ask.slot, 12182);
  EXPECT_EQ(ask.target.port, 7002);
  for (const char* later :
       {"-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
        "-CLUSTERDOWN The cluster is down\r\n", "-CLUSTERDOWN Hash slot not served\r\n"}) {
    EXPECT_EQ(ClusterClient::Decide(Parse(later).view(), "h").kind, Step::Kind::kRetryLater)
        << later;
  }
  for (const char* done : {"-ERR unknown command\r\n", "-MOVED garbage\r\n", "$1\r\nx\r\n",
                           ":1\r\n", "-NOSCRIPT No matching script\r\n"}) {
    EXPECT_EQ(ClusterClient::Decide(Parse(done).view(), "h").kind, Step::Kind::kDone) << done;
  }
}

}  // namespace
}  // namespace warden
