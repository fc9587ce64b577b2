// The sidecar's cluster client without a network: a CLUSTER SLOTS reply read into ranges, and
// what each error reply asks.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "base/errors.h"
#include "common/cluster_slots.h"
#include "storage/redis/cluster_client.h"

namespace warden {
namespace {

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
