// The key schema in both layouts: a single server's names stay as they were, and in a Redis
// Cluster every script's keys (RedisSchema's and the sidecar's, for realistic names) share one
// slot, while the limit buckets spread over the slots.
#include "common/redis_schema.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/cache_value.h"
#include "common/cluster_slots.h"
#include "common/redis_deployment.h"

namespace warden {
namespace {

using Layout = RedisSchema::Layout;

const std::vector<std::string> kPrefixes = {"warden:", "shop-eu:", "", "a:b:c:"};

// Every key of `keys` in the slot of the first; the message names the two that differ.
void ExpectOneSlot(const std::vector<std::string>& keys, const std::string& what) {
  ASSERT_FALSE(keys.empty());
  const int slot = ClusterKeySlot(keys.front());
  for (const std::string& key : keys) {
    EXPECT_EQ(ClusterKeySlot(key), slot) << what << ": " << keys.front() << " vs " << key;
  }
}

TEST(RedisSchemaTest, SingleServerNamesAreUnchanged) {
  RedisSchema s("warden:");
  EXPECT_FALSE(s.cluster());
  EXPECT_EQ(s.BlacklistEntries(), "warden:bl:entries");
  EXPECT_EQ(s.BlacklistExpiry(), "warden:bl:expiry");
  EXPECT_EQ(s.BlacklistSeq(), "warden:bl:seq");
  EXPECT_EQ(s.BlacklistLog(), "warden:bl:log");
  EXPECT_EQ(s.BlacklistEpoch(), "warden:bl:epoch");
  EXPECT_EQ(s.BlacklistAccept(), "warden:bl:accept");
  EXPECT_EQ(s.BanCounter(RedisSchema::AutobanHistory("api", "192.0.2.7")),
            "warden:ab:n:api:192.0.2.7");
  EXPECT_EQ(s.BanCounter(RedisSchema::BehaviourHistory("probe", "2001:db8::/64")),
            "warden:bh:n:probe:2001:db8::/64");
  EXPECT_EQ(s.BehaviourHot("probe"), "warden:bh:hot:probe");
  EXPECT_EQ(s.LimitBucket("api", std::string("\xc0\x00\x02\x07", 4)), "warden:rl:api:c0000207");
  EXPECT_EQ(s.TrafficKey("req", 29000000), "warden:top:req:29000000");
  EXPECT_EQ(s.NginxNode("web1"), "warden:ng:node:web1");
  EXPECT_EQ(s.NginxNodes(), "warden:ng:nodes");
  EXPECT_EQ(s.SidecarNode("ops1"), "warden:sc:node:ops1");
  EXPECT_EQ(s.TrafficSeconds(), "warden:ts:s");
  EXPECT_EQ(s.TrafficMinutes(), "warden:ts:m");
  EXPECT_EQ(s.TrafficWriter(), "warden:ts:writer");
  EXPECT_EQ(s.TopologyPrimary(), "warden:topology:primary");
  EXPECT_EQ(s.JobKey("nightly", "fence"), "warden:job:nightly:fence");
  EXPECT_EQ(s.CacheLock("cache:home"), "cache:home:lock");
}

TEST(RedisSchemaTest, ClusterNamesCarryHashTags) {
  RedisSchema s("warden:", Layout::kCluster);
  EXPECT_TRUE(s.cluster());
  EXPECT_EQ(s.BlacklistEntries(), "warden:{bl}:entries");
  EXPECT_EQ(s.BanCounter(RedisSchema::AutobanHistory("api", "192.0.2.7")),
            "warden:{bl}:ab:n:api:192.0.2.7");
  EXPECT_EQ(s.NginxNode("web1"), "warden:{ng}:node:web1");
  EXPECT_EQ(s.TrafficSeconds(), "warden:{ts}:s");
  EXPECT_EQ(s.TrafficKey("req", 29000000), "warden:top:req:{29000000}");
  EXPECT_EQ(s.JobKey("nightly", "fence"), "warden:job:{nightly}:fence");
  // a bucket group's tag (LimitBucketsShareSixtyFourGroups)
  EXPECT_TRUE(std::regex_match(s.LimitBucket("api", "\x01"),
                               std::regex(R"(warden:rl:\{b\d+\.\d+\}:api:01)")))
      << s.LimitBucket("api", "\x01");
  EXPECT_EQ(s.CacheLock("cache:home"), "{cache:home}:lock");
  EXPECT_EQ(s.CacheLock("{tenant7}:report"), "{tenant7}:report:lock");
}

TEST(RedisSchemaTest, TheLayoutComesFromTheDeployment) {
  std::string error;
  auto cluster = RedisDeployment::Parse("cluster://127.0.0.1:7000,127.0.0.1:7001", &error);
  ASSERT_TRUE(cluster) << error;
  EXPECT_TRUE(RedisSchema::For(*cluster, "warden:").cluster());
  for (const char* text : {"redis://127.0.0.1:6379/0", "sentinel://127.0.0.1:26379/mymaster",
                           "unix:///run/redis.sock"}) {
    auto other = RedisDeployment::Parse(text, &error);
    ASSERT_TRUE(other) << error;
    EXPECT_FALSE(RedisSchema::For(*other, "warden:").cluster()) << text;
  }
}

// The blacklist scripts (apply, purge, autoban, hello), the CLI's accept (epoch, accept).
TEST(RedisSchemaTest, BlacklistScriptsStayInOneSlot) {
  for (const std::string& prefix : kPrefixes) {
    RedisSchema s(prefix, Layout::kCluster);
    std::vector<std::string> keys = {s.BlacklistEntries(), s.BlacklistExpiry(),
                                     s.BlacklistSeq(),     s.BlacklistLog(),
                                     s.BlacklistEpoch(),   s.BlacklistAccept()};
    for (const char* scope :
         {"192.0.2.7", "10.0.0.0/8", "2001:db8::1", "::ffff:198.51.100.0/120"}) {
      keys.push_back(s.BanCounter(RedisSchema::AutobanHistory("api", scope)));
      keys.push_back(s.BanCounter(RedisSchema::AutobanHistory("login_zone", scope)));
      keys.push_back(s.BanCounter(RedisSchema::BehaviourHistory("probe-404", scope)));
    }
    ExpectOneSlot(keys, "blacklist, prefix \"" + prefix + "\"");
  }
}

TEST(RedisSchemaTest, HeartbeatsSeriesAndJobsStayInOneSlotEach) {
  for (const std::string& prefix : kPrefixes) {
    RedisSchema s(prefix, Layout::kCluster);
    // kNodeHeartbeatScript: the node's key and the set of nodes.
    for (const char* node : {"web1", "web-2.example.com", "10.0.0.5", "node:with:colons"}) {
      ExpectOneSlot({s.NginxNodes(), s.NginxNode(node)}, std::string("heartbeat ") + node);
    }
    // The console's series script: ts:s, ts:m, ts:writer.
    ExpectOneSlot({s.TrafficSeconds(), s.TrafficMinutes(), s.TrafficWriter()}, "series");
    // The scheduler's scripts take a job's keys (scheduler/redis_coordinator.h).
    for (const char* job : {"nightly-sync", "cache_warm:home", "a.b", "x"}) {
      std::vector<std::string> keys;
      for (const char* what : {"claimed", "leases", "cancel", "queued", "fence", "failures",
                               "alerting", "last", "progress"}) {
        keys.push_back(s.JobKey(job, what));
      }
      ExpectOneSlot(keys, std::string("job ") + job);
    }
  }
}

TEST(RedisSchemaTest, AMinutesTrafficKeysShareASlotAndMinutesSpread) {
  std::set<int> slots;
  for (const std::string& prefix : kPrefixes) {
    RedisSchema s(prefix, Layout::kCluster);
    for (int64_t minute = 29000000; minute < 29000120; ++minute) {
      std::vector<std::string> keys = s.TrafficKeys(minute);
      ASSERT_EQ(keys.size(), RedisSchema::kTrafficFamilies.size());
      ExpectOneSlot(keys, "traffic minute " + std::to_string(minute));
      slots.insert(ClusterKeySlot(keys.front()));
    }
  }
  EXPECT_GT(slots.size(), 100u);  // two hours of minutes: spread, not one slot
}

// The script takes its keys in kTrafficFamilies's order and builds none itself.
TEST(RedisSchemaTest, TrafficScriptTakesItsKeysInOrder) {
  std::string lua = "local families = {";
  const std::string script = RedisSchema::kTrafficScript;
  size_t at = script.find(lua);
  ASSERT_NE(at, std::string::npos);
  for (const char* family : RedisSchema::kTrafficFamilies) {
    size_t next = script.find(std::string("'") + family + "'", at);
    ASSERT_NE(next, std::string::npos) << family;
    at = next;
  }
  EXPECT_EQ(script.find("ARGV[1] .."), std::string::npos) << "a key name built in the script";
  EXPECT_EQ(std::string(RedisSchema::kTrafficScript).find("'top:'"), std::string::npos);
}

TEST(RedisSchemaTest, LimitBucketsShareSixtyFourGroups) {
  // Each group's tag on a slot of its own 64th of the slot space, so any cluster whose
  // primaries hold contiguous ranges (redis-cli --cluster create, or a rebalance) gets its
  // share of the groups.
  for (int g = 0; g < RedisSchema::kLimitBucketGroups; ++g) {
    const std::string& tag = RedisSchema::LimitBucketTag(g);
    EXPECT_EQ(ClusterKeySlot(tag) / (ClusterSlotMap::kSlots / RedisSchema::kLimitBucketGroups), g)
        << tag;
  }
  // The names are the schema: buckets written by one version are read by the next.
  EXPECT_EQ(RedisSchema::LimitBucketTag(0), "b0.52");  // slot 0
  EXPECT_EQ(RedisSchema("warden:", Layout::kCluster)
                .LimitBucket("api", std::string("\xc0\x00\x02\x07", 4)),
            "warden:rl:{b43.11}:api:c0000207");
}

TEST(RedisSchemaTest, LimitBucketsSpreadOverTheSlots) {
  RedisSchema s("warden:", Layout::kCluster);
  std::map<int, int> per_third;  // three primaries with equal ranges
  std::set<int> slots;
  for (uint32_t i = 0; i < 30000; ++i) {
    const char ip[4] = {static_cast<char>(198), static_cast<char>(18 + (i >> 16 & 1)),
                        static_cast<char>(i >> 8), static_cast<char>(i)};
    const int slot = ClusterKeySlot(s.LimitBucket("api", std::string(ip, 4)));
    slots.insert(slot);
    per_third[slot * 3 / ClusterSlotMap::kSlots]++;
  }
  // Every group used: a turn's buckets share 64 slots (few script calls), spread evenly.
  EXPECT_EQ(slots.size(), static_cast<size_t>(RedisSchema::kLimitBucketGroups));
  for (const auto& [third, n] : per_third) {
    EXPECT_GT(n, 9000) << "shard " << third;
    EXPECT_LT(n, 11000) << "shard " << third;
  }
}

TEST(RedisSchemaTest, ACacheKeysLockSharesItsSlot) {
  RedisSchema s("", Layout::kCluster);
  for (const char* key : {"cache:home", "{tenant7}:report", "page:/index?x=1", "a{b", "{",
                          "top{products}", "emoji:\xe2\x9c\x93"}) {
    std::string why;
    ASSERT_TRUE(RedisSchema::CheckCacheKey(key, Layout::kCluster, &why)) << key << ": " << why;
    // CacheValue::StoreScript()'s KEYS: the key and its lock.
    ExpectOneSlot({key, s.CacheLock(key)}, std::string("cache ") + key);
  }
  std::string why;
  for (const char* key : {"a}b", "x{}y", "{}"}) {  // a '}' and no tag: no name shares the slot
    EXPECT_FALSE(RedisSchema::CheckCacheKey(key, Layout::kCluster, &why)) << key;
    EXPECT_NE(why.find("hash tag"), std::string::npos) << why;
  }
  EXPECT_TRUE(RedisSchema::CheckCacheKey("a}b", Layout::kSingle, &why));
}

TEST(RedisSchemaTest, AClusterPrefixHoldsNoBraces) {
  std::string why;
  EXPECT_TRUE(RedisSchema::CheckPrefix("warden:", Layout::kCluster, &why));
  EXPECT_TRUE(RedisSchema::CheckPrefix("{warden}:", Layout::kSingle, &why));
  EXPECT_FALSE(RedisSchema::CheckPrefix("{warden}:", Layout::kCluster, &why));
  EXPECT_NE(why.find("hash tags"), std::string::npos) << why;
  EXPECT_FALSE(RedisSchema::CheckPrefix("app}:", Layout::kCluster, &why));
}

}  // namespace
}  // namespace warden
