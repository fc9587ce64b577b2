// Reading Sentinel's failover events and SENTINEL REPLICAS entries, and the rule that picks the
// replica a failover promoted before the Sentinels announce it (common/sentinel_failover.h).
#include "common/sentinel_failover.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace warden {
namespace {

using Kind = SentinelEvent::Kind;

TEST(SentinelEvent, SwitchMaster) {
  auto e = SentinelEvent::Parse("+switch-master", "mymaster 10.0.0.5 6379 10.0.0.6 6380");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, Kind::kSwitchMaster);
  EXPECT_EQ(e->master_name, "mymaster");
  EXPECT_EQ(e->master, (RedisNodeAddress{"10.0.0.5", 6379}));
  EXPECT_EQ(e->node, (RedisNodeAddress{"10.0.0.6", 6380}));
  EXPECT_EQ(SentinelEvent::Parse("+switch-master", "::1 ::1 1 fd00::2 2")->node,
            (RedisNodeAddress{"fd00::2", 2}));

  EXPECT_FALSE(SentinelEvent::Parse("+switch-master", "mymaster 10.0.0.5 6379 10.0.0.6"));
  EXPECT_FALSE(SentinelEvent::Parse("+switch-master", "mymaster 10.0.0.5 6379 10.0.0.6 0"));
  EXPECT_FALSE(SentinelEvent::Parse("+switch-master", "mymaster 10.0.0.5 6379 10.0.0.6 65536"));
  EXPECT_FALSE(SentinelEvent::Parse("+switch-master", "m 10.0.0.5 6379 10.0.0.6 6380 extra"));
}

TEST(SentinelEvent, MasterDownOnlyForAMaster) {
  auto sdown = SentinelEvent::Parse("+sdown", "master mymaster 127.0.0.1 6379");
  ASSERT_TRUE(sdown.has_value());
  EXPECT_EQ(sdown->kind, Kind::kMasterDown);
  EXPECT_EQ(sdown->master_name, "mymaster");
  EXPECT_EQ(sdown->master, (RedisNodeAddress{"127.0.0.1", 6379}));
  EXPECT_EQ(sdown->node, RedisNodeAddress{});

  auto odown = SentinelEvent::Parse("+odown", "master mymaster 127.0.0.1 6379 #quorum 2/2");
  ASSERT_TRUE(odown.has_value());
  EXPECT_EQ(odown->kind, Kind::kMasterDown);
  EXPECT_EQ(odown->master, (RedisNodeAddress{"127.0.0.1", 6379}));

  // A replica or a Sentinel going down is no reason to look for a promotion.
  EXPECT_FALSE(SentinelEvent::Parse(
      "+sdown", "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"));
  EXPECT_FALSE(SentinelEvent::Parse(
      "+sdown", "sentinel 0123456789abcdef 127.0.0.1 26380 @ mymaster 127.0.0.1 6379"));
  EXPECT_FALSE(SentinelEvent::Parse("+sdown", "master mymaster 127.0.0.1"));
  EXPECT_FALSE(SentinelEvent::Parse("+sdown", "master mymaster 127.0.0.1 port"));
}

TEST(SentinelEvent, WaitPromotionNamesTheReplica) {
  auto e = SentinelEvent::Parse("+failover-state-wait-promotion",
                                "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, Kind::kWaitPromotion);
  EXPECT_EQ(e->master_name, "mymaster");
  EXPECT_EQ(e->node, (RedisNodeAddress{"127.0.0.1", 6380}));
  EXPECT_EQ(e->master, (RedisNodeAddress{"127.0.0.1", 6379}));

  EXPECT_FALSE(
      SentinelEvent::Parse("+failover-state-wait-promotion", "master mymaster 127.0.0.1 6379"));
  EXPECT_FALSE(
      SentinelEvent::Parse("+failover-state-wait-promotion",
                           "slave 127.0.0.1:6380 127.0.0.1 6380 # mymaster 127.0.0.1 6379"));
}

TEST(SentinelEvent, OtherChannelsAndGarbage) {
  EXPECT_FALSE(SentinelEvent::Parse(
      "+promoted-slave", "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"));
  EXPECT_FALSE(SentinelEvent::Parse("+switch-master", ""));
  EXPECT_FALSE(SentinelEvent::Parse("+odown", "    "));
  std::mt19937 rng(7);
  const std::string alphabet = "master slave @ 127.0.0.1 6379 :#/ \r\n";
  for (int i = 0; i < 20000; ++i) {
    std::string message;
    size_t n = rng() % 64;
    for (size_t j = 0; j < n; ++j) message += alphabet[rng() % alphabet.size()];
    for (const char* channel : SentinelEvent::kChannels) SentinelEvent::Parse(channel, message);
  }
}

TEST(SentinelReplica, FromFieldsAndFlags) {
  auto r = SentinelReplica::FromFields(
      {{"name", "127.0.0.1:6380"}, {"ip", "127.0.0.1"}, {"port", "6380"}, {"flags", "slave"}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->address, (RedisNodeAddress{"127.0.0.1", 6380}));
  EXPECT_TRUE(r->Reachable());

  for (const char* flags :
       {"s_down,slave", "slave,disconnected", "s_down,slave,disconnected", "o_down,slave"}) {
    SentinelReplica down{{"127.0.0.1", 6380}, flags};
    EXPECT_FALSE(down.Reachable()) << flags;
  }
  EXPECT_TRUE((SentinelReplica{{"127.0.0.1", 6380}, "slave,promoted"}.Reachable()));
  EXPECT_TRUE((SentinelReplica{{"127.0.0.1", 6380}, "slave,s_downish"}.Reachable()));

  EXPECT_FALSE(SentinelReplica::FromFields({{"ip", "127.0.0.1"}}));
  EXPECT_FALSE(SentinelReplica::FromFields({{"ip", ""}, {"port", "6380"}}));
  EXPECT_FALSE(SentinelReplica::FromFields({{"ip", "127.0.0.1"}, {"port", "-1"}}));
}

TEST(PromotedReplica, ExactlyOneMaster) {
  RedisNodeAddress a{"127.0.0.1", 6380}, b{"127.0.0.1", 6381}, c{"127.0.0.1", 6382};
  EXPECT_FALSE(PromotedReplica({}));
  EXPECT_FALSE(PromotedReplica({{a, false}, {b, false}}));
  EXPECT_EQ(PromotedReplica({{a, false}, {b, true}, {c, false}}), b);
  // The same replica asked twice is one.
  EXPECT_EQ(PromotedReplica({{b, true}, {a, false}, {b, true}}), b);
  // Two say master: not ours to choose.
  EXPECT_FALSE(PromotedReplica({{a, true}, {b, true}}));
  EXPECT_FALSE(PromotedReplica({{a, true}, {c, false}, {b, true}}));
}

}  // namespace
}  // namespace warden
