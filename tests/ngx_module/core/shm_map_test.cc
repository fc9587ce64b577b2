#include "core/shm_map.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

namespace warden {
namespace {

struct Counter {
  int64_t n;
};

class ShmMapTest : public ::testing::Test {
 protected:
  void Make(size_t slots) {
    region_.assign(ShmMap::RegionSize(slots), 0);
    ASSERT_TRUE(map_.Attach(region_.data(), region_.size()));
  }
  ShmMap::Slot* Touch(const std::string& key, int64_t now = 0, bool* fresh_out = nullptr) {
    ShmMap::Lock lock(map_, getpid());
    bool fresh;
    auto* s = map_.FindOrInsert(key, now, &fresh);
    if (fresh_out) *fresh_out = fresh;
    ShmMap::Value<Counter>(s).n++;
    return s;
  }
  int64_t Count(const std::string& key) {
    ShmMap::Lock lock(map_, getpid());
    auto* s = map_.Find(key);
    return s ? ShmMap::Value<Counter>(s).n : -1;
  }

  std::vector<char> region_;
  ShmMap map_;
};

TEST_F(ShmMapTest, InsertsAndFinds) {
  Make(128);
  bool fresh;
  Touch("alpha", 0, &fresh);
  EXPECT_TRUE(fresh);
  Touch("alpha", 0, &fresh);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(Count("alpha"), 2);
  EXPECT_EQ(Count("beta"), -1);
  EXPECT_EQ(map_.ReadStats().entries, 1u);
}

TEST_F(ShmMapTest, LongKeysAreStoredAsDigests) {
  Make(128);
  std::string a(100, 'a'), b(100, 'a');
  b.back() = 'b';
  Touch(a);
  Touch(a);
  Touch(b);
  EXPECT_EQ(Count(a), 2);
  EXPECT_EQ(Count(b), 1);
  ShmMap::Lock lock(map_, getpid());
  EXPECT_EQ(ShmMap::StoredKey(*map_.Find(a)).size(), 16u);
}

// Every node must know a long key by the same digest (it names the key's bucket in Redis),
// while each zone places keys with its own random seed.
TEST_F(ShmMapTest, DigestsAreTheSameInEveryZone) {
  Make(128);
  std::vector<char> other_region(ShmMap::RegionSize(128), 0);
  ShmMap other;
  ASSERT_TRUE(other.Attach(other_region.data(), other_region.size()));
  std::string key(300, 'k');
  key[7] = 'x';
  Touch(key);
  ShmMap::Lock lock_a(map_, getpid());
  ShmMap::Lock lock_b(other, getpid());
  bool fresh;
  ShmMap::Slot* b = other.FindOrInsert(key, 0, &fresh);
  EXPECT_EQ(ShmMap::StoredKey(*map_.Find(key)), ShmMap::StoredKey(*b));
  EXPECT_EQ(ShmMap::StoredKey(key), ShmMap::StoredKey(*b));
  // A stored key finds its slot again (what draining the queue and the Redis replies do).
  EXPECT_EQ(map_.Find(ShmMap::StoredKey(key)), map_.Find(key));
  std::string other_key = key;
  other_key[299] = 'z';
  EXPECT_NE(ShmMap::StoredKey(key), ShmMap::StoredKey(other_key));
}

// A long key's digest names its bucket in Redis, so it must not change from one version to
// the next (a fleet upgraded node by node would split every long key's count in two). These
// were computed by 0.2's first hash, whose last bytes were copied into a zeroed word: every tail
// length from 0 to 7 bytes, twice.
TEST(ShmMapDigestTest, LongKeysKeepTheirDigestsAcrossVersions) {
  const std::vector<std::pair<size_t, std::string>> expected = {
      {23, "c65f6d99c88a7d75476d137f6dd83b21"}, {24, "fa682e58d8b5b46e18b56a8e890babda"},
      {25, "909101f2c61660f95d8daf2a3bfae30c"}, {26, "e2754e7a2dbb90db9d618af52cfee650"},
      {27, "9a78c5abd799b9f8fb19de37a070b221"}, {28, "4c21b39e0b8ca9922277ca5786ce7e1a"},
      {29, "04ee3d92164095484941528f545a734e"}, {30, "68ccaccce6638a00f2de1b5a64aeb8ac"},
      {31, "ecdf9770e73df9b5d946509541924698"}, {32, "06a9835e0e3be00d5b77941659161eb4"},
      {33, "98ae89a67e29bc6fb7637122a9d353c9"}, {34, "4143d11883b68912106e922ffe8c1828"},
      {35, "b3b828e00070225b3720a5257e63994e"}, {36, "cd443c8f77f1fe43f68e2e05ac5068e2"},
      {37, "4677db8c700d71129c4999e4b41cde86"}, {38, "bcf39af3c20b10e6f459a713d2a2fa08"},
      {39, "2c2e61e4307b0874b5beea5e6ff4c1eb"}, {40, "da370edd9e047dda0c39099b04a2df5c"},
  };
  for (const auto& [len, digest] : expected) {
    std::string key;
    for (size_t i = 0; i < len; ++i) key.push_back(static_cast<char>('a' + (i * 7) % 26));
    std::string stored = ShmMap::StoredKey(key);
    std::string hex;
    for (unsigned char c : stored) {
      static const char kHex[] = "0123456789abcdef";
      hex += kHex[c >> 4];
      hex += kHex[c & 15];
    }
    EXPECT_EQ(hex, digest) << len;
  }
}

TEST_F(ShmMapTest, BinaryKeys) {
  Make(128);
  std::string k1("\x00\x01\x00", 3), k2("\x00\x01\x01", 3);
  Touch(k1);
  EXPECT_EQ(Count(k1), 1);
  EXPECT_EQ(Count(k2), -1);
}

TEST_F(ShmMapTest, FullMapEvictsTheLeastRecentlyUsedAndNeverRefuses) {
  Make(ShmMap::kMinSlots * 2);
  // Old keys first, then many newer ones: every insert succeeds.
  for (int i = 0; i < 50; ++i) Touch("old" + std::to_string(i), 1);
  for (int i = 0; i < 500; ++i) ASSERT_NE(Touch("new" + std::to_string(i), 1000 + i), nullptr);
  auto stats = map_.ReadStats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LE(stats.entries, stats.slots);
  // The most recent keys survive.
  EXPECT_EQ(Count("new499"), 1);
  int old_left = 0;
  for (int i = 0; i < 50; ++i) old_left += Count("old" + std::to_string(i)) > 0;
  EXPECT_LT(old_left, 10);
}

TEST_F(ShmMapTest, RemoveKeepsOthersReachable) {
  Make(256);
  for (int i = 0; i < 150; ++i) Touch("k" + std::to_string(i));
  {
    ShmMap::Lock lock(map_, getpid());
    for (int i = 0; i < 150; i += 3) map_.Remove(map_.Find("k" + std::to_string(i)));
  }
  for (int i = 0; i < 150; ++i) EXPECT_EQ(Count("k" + std::to_string(i)), i % 3 ? 1 : -1) << i;
}

TEST_F(ShmMapTest, QueueDrainsEachTouchedKeyOnce) {
  Make(256);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      ShmMap::Lock lock(map_, getpid());
      bool fresh;
      map_.Enqueue(map_.FindOrInsert("k" + std::to_string(i), 0, &fresh));
    }
  }
  std::vector<std::string> keys;
  {
    ShmMap::Lock lock(map_, getpid());
    map_.Drain(&keys, 100, [](ShmMap::Slot*) { return true; });
  }
  EXPECT_EQ(keys.size(), 10u);
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), 10u);
  keys.clear();
  ShmMap::Lock lock(map_, getpid());
  map_.Drain(&keys, 100, [](ShmMap::Slot*) { return true; });
  EXPECT_TRUE(keys.empty());
}

TEST_F(ShmMapTest, QueueOverflowFallsBackToAScan) {
  Make(ShmMap::kMinSlots * 4);  // queue of 256
  for (int i = 0; i < 200; ++i) {
    ShmMap::Lock lock(map_, getpid());
    bool fresh;
    auto* s = map_.FindOrInsert("k" + std::to_string(i), 0, &fresh);
    ShmMap::Value<Counter>(s).n = i;
    map_.Enqueue(s);
  }
  // 200 keys into a queue of 256 fit; force an overflow with more distinct keys.
  for (int i = 200; i < 600; ++i) {
    ShmMap::Lock lock(map_, getpid());
    bool fresh;
    auto* s = map_.FindOrInsert("k" + std::to_string(i), 0, &fresh);
    ShmMap::Value<Counter>(s).n = i;
    map_.Enqueue(s);
  }
  std::vector<std::string> keys;
  ShmMap::Lock lock(map_, getpid());
  map_.Drain(&keys, 10, [](ShmMap::Slot* s) { return ShmMap::Value<Counter>(s).n % 2 == 0; });
  // The scan returns every wanted key present, regardless of `max`.
  EXPECT_GT(keys.size(), 10u);
  for (auto& k : keys) EXPECT_EQ(std::stoi(k.substr(1)) % 2, 0) << k;
}

TEST_F(ShmMapTest, ReattachKeepsData) {
  Make(128);
  Touch("x");
  ShmMap again;
  ASSERT_TRUE(again.Attach(region_.data(), region_.size()));
  ShmMap::Lock lock(again, getpid());
  EXPECT_NE(again.Find("x"), nullptr);
}

}  // namespace
}  // namespace warden
