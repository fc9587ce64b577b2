// The sidecar's cluster client without a network: what each error reply asks of it. (CLUSTER
// SLOTS replies are read by common/cluster_slots.h: tests/ngx_module/common/cluster_slots_test.)
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "base/errors.h"
#include "storage/redis/cluster_client.h"
#include "support/resp_reply.h"

namespace warden {
namespace {

// A reply as hiredis reads it from `resp` (no server).
RedisReply Parse(const std::string& resp) {
  return RedisReply(test::ParseResp(resp).release(), "TEST");
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
