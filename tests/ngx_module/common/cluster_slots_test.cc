// Redis Cluster's key-to-slot math against the spec's vectors, the slot map, and the one reader
// of CLUSTER SLOTS replies (the module's and the sidecar's).
#include "common/cluster_slots.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "support/resp_reply.h"

namespace warden {
namespace {

using ReplyPtr = test::RespReplyPtr;
using test::ParseResp;

TEST(ClusterSlot, Crc16IsXmodem) {
  // The check value of CRC-16/XMODEM, quoted by the cluster spec's crc16 reference code.
  EXPECT_EQ(Crc16Xmodem("123456789"), 0x31C3);
  EXPECT_EQ(Crc16Xmodem(""), 0);
}

TEST(ClusterSlot, KeysAndHashTags) {
  EXPECT_EQ(ClusterKeySlot("foo"), 12182);  // CLUSTER KEYSLOT foo in the spec
  EXPECT_EQ(ClusterKeySlot("bar"), 5061);
  EXPECT_EQ(ClusterKeySlot("{user1000}.following"), ClusterKeySlot("{user1000}.followers"));
  EXPECT_EQ(ClusterKeySlot("{user1000}.following"), ClusterKeySlot("user1000"));
  EXPECT_EQ(ClusterKeySlot("foo{}{bar}"), Crc16Xmodem("foo{}{bar}") % 16384);  // "{}": whole key
  EXPECT_EQ(ClusterKeySlot("foo{{bar}}zap"), ClusterKeySlot("{bar"));    // first '{', next '}'
  EXPECT_EQ(ClusterKeySlot("foo{bar}{zap}"), ClusterKeySlot("bar"));     // the first tag only
  EXPECT_EQ(ClusterKeySlot("foo{bar"), Crc16Xmodem("foo{bar") % 16384);  // unclosed: whole key
  EXPECT_EQ(ClusterKeySlot("}foo{"), Crc16Xmodem("}foo{") % 16384);
  // Warden's own keys: one prefix and a tag would keep a script's keys in one slot.
  EXPECT_EQ(ClusterKeySlot("{warden:}bl:entries"), ClusterKeySlot("{warden:}bl:seq"));
  using namespace std::string_view_literals;
  for (std::string_view key : {""sv, "a"sv, "{"sv, "}"sv, "{}"sv, "{{}}"sv, "\0\xff"sv}) {
    int slot = ClusterKeySlot(key);
    EXPECT_GE(slot, 0);
    EXPECT_LT(slot, ClusterSlotMap::kSlots);
  }
}

std::vector<ClusterSlotRange> ThreePrimaries() {
  return {{0, 5460, {"10.0.0.1", 7000}, {{"10.0.0.4", 7003}}},
          {5461, 10922, {"10.0.0.2", 7001}, {{"10.0.0.5", 7004}}},
          {10923, 16383, {"::1", 7002}, {}}};
}

ClusterSlotMap Build(const std::vector<ClusterSlotRange>& ranges) {
  std::string why;
  std::optional<ClusterSlotMap> map = ClusterSlotMap::Build(ranges, &why);
  EXPECT_TRUE(map.has_value()) << why;
  return map.value_or(*ClusterSlotMap::Build({}, &why));
}

std::string BuildError(const std::vector<ClusterSlotRange>& ranges) {
  std::string why;
  EXPECT_FALSE(ClusterSlotMap::Build(ranges, &why).has_value());
  return why;
}

TEST(ClusterSlotMap, LooksUpThePrimaryAndReplicas) {
  ClusterSlotMap map = Build(ThreePrimaries());
  EXPECT_TRUE(map.Complete());
  EXPECT_EQ(*map.PrimaryFor(0), (RedisNodeAddress{"10.0.0.1", 7000}));
  EXPECT_EQ(*map.PrimaryFor(5461), (RedisNodeAddress{"10.0.0.2", 7001}));
  EXPECT_EQ(*map.PrimaryFor(ClusterKeySlot("foo")), (RedisNodeAddress{"::1", 7002}));
  EXPECT_EQ(map.PrimaryFor(ClusterKeySlot("foo"))->ToString(), "[::1]:7002");
  ASSERT_EQ(map.ReplicasFor(5460).size(), 1u);
  EXPECT_EQ(map.ReplicasFor(5460)[0], (RedisNodeAddress{"10.0.0.4", 7003}));
  EXPECT_TRUE(map.ReplicasFor(16383).empty());
  EXPECT_EQ(map.PrimaryFor(-1), nullptr);
  EXPECT_EQ(map.PrimaryFor(16384), nullptr);
  EXPECT_TRUE(map.ReplicasFor(99999).empty());
  EXPECT_EQ(map.Primaries().size(), 3u);
}

TEST(ClusterSlotMap, OnePrimaryOverSeveralRangesAndGaps) {
  ClusterSlotMap map = Build({{0, 99, {"a", 1}, {}}, {200, 299, {"a", 1}, {}}});
  EXPECT_FALSE(map.Complete());
  EXPECT_EQ(map.PrimaryFor(150), nullptr);
  EXPECT_EQ(*map.PrimaryFor(250), (RedisNodeAddress{"a", 1}));
  EXPECT_EQ(map.Primaries().size(), 1u);
  EXPECT_FALSE(Build({}).Complete());
}

TEST(ClusterSlotMap, MovedReassignsOneSlot) {
  ClusterSlotMap map = Build(ThreePrimaries());
  int slot = ClusterKeySlot("bar");  // 5061, on 10.0.0.1
  EXPECT_TRUE(map.Moved(slot, {"10.0.0.9", 7009}));
  EXPECT_EQ(*map.PrimaryFor(slot), (RedisNodeAddress{"10.0.0.9", 7009}));
  EXPECT_TRUE(map.ReplicasFor(slot).empty());
  EXPECT_EQ(*map.PrimaryFor(slot - 1), (RedisNodeAddress{"10.0.0.1", 7000}));
  EXPECT_TRUE(map.Moved(slot + 1, {"10.0.0.2", 7001}));  // to a known primary: its replicas
  EXPECT_EQ(map.ReplicasFor(slot + 1).size(), 1u);
  EXPECT_EQ(map.Primaries().size(), 4u);
  EXPECT_FALSE(map.Moved(-1, {"x", 1}));
  EXPECT_FALSE(map.Moved(16384, {"x", 1}));

  // Every slot moved away from ::1: it serves nothing and is no longer listed.
  for (int s = 10923; s <= 16383; ++s) map.Moved(s, {"10.0.0.9", 7009});
  EXPECT_EQ(map.Primaries().size(), 3u);
}

TEST(ClusterSlotMap, MovedToEverNewAddressesIsBounded) {
  ClusterSlotMap map = Build(ThreePrimaries());
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    if (!map.Moved(i % 16384, {"n" + std::to_string(i), 1})) ++refused;
  }
  EXPECT_GT(refused, 0);
  EXPECT_NE(map.PrimaryFor(0), nullptr);
}

TEST(ClusterSlotMap, RejectsBadReplies) {
  EXPECT_NE(BuildError({{0, 16384, {"a", 1}, {}}}).find("0-16384 is not within"),
            std::string::npos);
  EXPECT_NE(BuildError({{-1, 5, {"a", 1}, {}}}).find("not within"), std::string::npos);
  EXPECT_NE(BuildError({{9, 5, {"a", 1}, {}}}).find("not within"), std::string::npos);
  EXPECT_NE(BuildError({{0, 10, {"a", 1}, {}}, {10, 20, {"b", 1}, {}}}).find("slot 10 is in two"),
            std::string::npos);
  EXPECT_NE(BuildError({{0, 10, {"", 1}, {}}}).find("no usable primary"), std::string::npos);
  EXPECT_NE(BuildError({{0, 10, {"a", 0}, {}}}).find("no usable primary"), std::string::npos);
  EXPECT_NE(BuildError({{0, 10, {"a", 1}, {{"b", 70000}}}}).find("unusable replica"),
            std::string::npos);
}

TEST(ClusterSlotsReply, ReadsRangesPrimariesAndReplicas) {
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
  ReplyPtr reply = ParseResp(resp);
  std::string why;
  auto ranges = ParseClusterSlots(reply.get(), "10.0.0.9", &why);
  ASSERT_TRUE(ranges) << why;
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_EQ((*ranges)[0].first, 0);
  EXPECT_EQ((*ranges)[0].last, 5460);
  EXPECT_EQ((*ranges)[0].primary.ToString(), "127.0.0.1:7000");
  ASSERT_EQ((*ranges)[0].replicas.size(), 1u);
  EXPECT_EQ((*ranges)[0].replicas[0].ToString(), "127.0.0.1:7003");
  EXPECT_EQ((*ranges)[1].primary.ToString(), "10.0.0.9:7001");
  EXPECT_EQ((*ranges)[2].primary.ToString(), "10.0.0.9:7002");
  EXPECT_EQ((*ranges)[2].last, 16000);
  auto map = ClusterSlotMap::Build(*ranges, &why);
  ASSERT_TRUE(map) << why;
  EXPECT_FALSE(map->Complete());  // 16001-16383: nobody we can reach
  EXPECT_EQ(map->PrimaryFor(16383), nullptr);

  // "?" with no port (an endpoint Redis does not know) is left out, not refused.
  ReplyPtr unknown = ParseResp("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$1\r\n?\r\n:0\r\n");
  ranges = ParseClusterSlots(unknown.get(), "h", &why);
  ASSERT_TRUE(ranges) << why;
  EXPECT_TRUE(ranges->empty());
}

TEST(ClusterSlotsReply, AnUnexpectedReplyIsRefusedWithAReason) {
  for (const char* resp : {"+OK\r\n", "*1\r\n:1\r\n", "*1\r\n*3\r\n:0\r\n:1\r\n:7\r\n",
                           "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\na\r\n:70000\r\n",
                           "*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\na\r\n:7000\r\n",
                           "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:5\r\n:7000\r\n"}) {
    ReplyPtr reply = ParseResp(resp);
    std::string why;
    EXPECT_FALSE(ParseClusterSlots(reply.get(), "h", &why)) << resp;
    EXPECT_FALSE(why.empty()) << resp;
  }
  std::string why;
  EXPECT_FALSE(ParseClusterSlots(nullptr, "h", &why));
}

}  // namespace
}  // namespace warden
