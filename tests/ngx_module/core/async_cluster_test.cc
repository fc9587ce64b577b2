// AsyncCluster without a network: a CLUSTER SLOTS reply read into slot ranges, as hiredis
// reads it off the wire.
#include "core/async_cluster.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace warden {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

ReplyPtr Parse(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &raw), REDIS_OK);
  redisReaderFree(reader);
  EXPECT_NE(raw, nullptr) << resp;
  return ReplyPtr(static_cast<redisReply*>(raw));
}

TEST(AsyncClusterTest, ReadsClusterSlots) {
  // A primary with a replica (ids, and Redis 7's map of more names), a primary named by nil and
  // one by "" (the node asked), and a range whose primary is "?".
  const std::string resp =
      "*4\r\n"
      "*4\r\n:0\r\n:5460\r\n"
      "*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid1\r\n*0\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$3\r\nid4\r\n"
      "*3\r\n:5461\r\n:10922\r\n*3\r\n$-1\r\n:7001\r\n$3\r\nid2\r\n"
      "*3\r\n:10923\r\n:16000\r\n*2\r\n$0\r\n\r\n:7002\r\n"
      "*3\r\n:16001\r\n:16383\r\n*2\r\n$1\r\n?\r\n:7005\r\n";
  ReplyPtr reply = Parse(resp);
  std::string why;
  auto ranges = AsyncCluster::ParseSlots(reply.get(), "10.0.0.9", &why);
  ASSERT_TRUE(ranges) << why;
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_EQ((*ranges)[0].first, 0);
  EXPECT_EQ((*ranges)[0].last, 5460);
  EXPECT_EQ((*ranges)[0].primary.ToString(), "127.0.0.1:7000");
  ASSERT_EQ((*ranges)[0].replicas.size(), 1u);
  EXPECT_EQ((*ranges)[0].replicas[0].ToString(), "127.0.0.1:7003");
  EXPECT_EQ((*ranges)[1].primary.ToString(), "10.0.0.9:7001");
  EXPECT_EQ((*ranges)[2].primary.ToString(), "10.0.0.9:7002");
  auto map = ClusterSlotMap::Build(*ranges, &why);
  ASSERT_TRUE(map) << why;
  EXPECT_FALSE(map->Complete());
  EXPECT_EQ(map->PrimaryFor(16383), nullptr);
}

TEST(AsyncClusterTest, AnUnexpectedSlotsReplyIsRefusedWithAReason) {
  for (const char* resp : {"+OK\r\n", "*1\r\n:1\r\n", "*1\r\n*3\r\n:0\r\n:1\r\n:7\r\n",
                           "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n:70000\r\n",
                           "*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\na\r\n:7000\r\n",
                           "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:5\r\n:7000\r\n"}) {
    ReplyPtr reply = Parse(resp);
    std::string why;
    EXPECT_FALSE(AsyncCluster::ParseSlots(reply.get(), "h", &why)) << resp;
    EXPECT_FALSE(why.empty()) << resp;
  }
  std::string why;
  EXPECT_FALSE(AsyncCluster::ParseSlots(nullptr, "h", &why));
}

}  // namespace
}  // namespace warden
