#include "core/traffic_counter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

namespace warden {
namespace {

TrafficCounter::Sample Sample(bool refused, const char* country = nullptr, int status = 200,
                              uint64_t bytes = 0, uint64_t upstream_ms = 0) {
  TrafficCounter::Sample s;
  s.refused = refused;
  s.country = country;
  s.status = status;
  s.bytes = bytes;
  s.upstream_ms = upstream_ms;
  return s;
}

class TrafficCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_.assign(ShmMap::RegionSize(4096), 0);
    ASSERT_TRUE(map_.Attach(region_.data(), region_.size()));
  }

  // What shared memory holds for `addr`: {requests, refused}, or {-1, -1} when absent.
  std::pair<int64_t, int64_t> Shared(const IpAddress& addr, std::string* country = nullptr) {
    ShmMap::Lock lock(map_, getpid());
    ShmMap::Slot* slot =
        map_.Find(std::string_view(reinterpret_cast<const char*>(addr.bytes().data()), 16));
    if (!slot) return {-1, -1};
    auto& c = ShmMap::Value<TrafficCounter::Counts>(slot);
    if (country) *country = std::string(c.country, c.country[0] ? 2 : 0);
    return {c.requests, c.refused};
  }

  std::vector<char> region_;
  ShmMap map_;
};

TEST_F(TrafficCounterTest, CountsReachSharedMemoryWhenFolded) {
  TrafficCounter counter(&map_, getpid());
  IpAddress a = *IpAddress::Parse("203.0.113.7");
  counter.Count(a, Sample(false, "DE"), 1000);
  counter.Count(a, Sample(true), 1001);
  counter.Count(a, Sample(false), 1002);
  EXPECT_EQ(Shared(a).first, -1);  // still this worker's own
  counter.Fold();
  std::string country;
  EXPECT_EQ(Shared(a, &country), std::make_pair(int64_t{3}, int64_t{1}));
  EXPECT_EQ(country, "DE");
  counter.Count(a, Sample(true), 2000);
  counter.Fold();
  counter.Fold();  // nothing new: nothing added twice
  EXPECT_EQ(Shared(a), std::make_pair(int64_t{4}, int64_t{2}));
}

// Far more addresses than the worker's own slots: addresses that meet in a slot push the
// older one out to shared memory, and every request is counted exactly once.
TEST_F(TrafficCounterTest, EveryRequestCountedOnceAcrossCollisions) {
  TrafficCounter counter(&map_, getpid());
  std::map<std::string, std::pair<int64_t, int64_t>> expected;
  std::vector<IpAddress> addrs;
  for (int i = 0; i < 1500; ++i) {
    addrs.push_back(
        *IpAddress::Parse(i % 5 ? "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)
                                : "2001:db8::" + std::to_string(i)));
  }
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < addrs.size(); ++i) {
      bool refused = (i + round) % 3 == 0;
      counter.Count(addrs[i], Sample(refused), round);
      auto& e = expected[addrs[i].ToString()];
      e.first++;
      e.second += refused;
    }
  }
  counter.Fold();
  for (auto& a : addrs) EXPECT_EQ(Shared(a), expected[a.ToString()]) << a.ToString();
}

// Status classes, bytes and upstream time go to the address's detail slot, once each.
TEST_F(TrafficCounterTest, ResponsesDetailReachesSharedMemory) {
  TrafficCounter counter(&map_, getpid());
  IpAddress a = *IpAddress::Parse("2001:db8::7");
  counter.Count(a, Sample(false, nullptr, 200, 1000, 12), 1000);
  counter.Count(a, Sample(false, nullptr, 302, 300), 1001);
  counter.Count(a, Sample(false, nullptr, 404, 500), 1002);
  counter.Count(a, Sample(false, nullptr, 404, 500), 1003);
  counter.Count(a, Sample(false, nullptr, 502, 200, 3000), 1004);
  counter.Count(a, Sample(true, nullptr, 429, 100), 1005);
  counter.Fold();
  counter.Fold();
  std::string key(reinterpret_cast<const char*>(a.bytes().data()), 16);
  key.push_back(static_cast<char>(TrafficCounter::kDetailTag));
  ShmMap::Lock lock(map_, getpid());
  ShmMap::Slot* slot = map_.Find(key);
  ASSERT_TRUE(slot);
  auto& d = ShmMap::Value<TrafficCounter::Detail>(slot);
  EXPECT_EQ(d.status_3xx, 1u);
  EXPECT_EQ(d.status_4xx, 3u);
  EXPECT_EQ(d.status_5xx, 1u);
  EXPECT_EQ(d.bytes, 2600u);
  EXPECT_EQ(d.upstream_ms, 3012u);
}

// Paths: counted per path, their text kept beside the counts in the zone (96 bytes at most).
TEST_F(TrafficCounterTest, PathsReachSharedMemoryWithTheirText) {
  TrafficCounter counter(&map_, getpid());
  IpAddress a = *IpAddress::Parse("192.0.2.1");
  std::string long_path = "/" + std::string(150, 'x');
  auto with_path = [](std::string_view path, int status, uint64_t up) {
    TrafficCounter::Sample s = Sample(false, nullptr, status, 10, up);
    s.path = path;
    return s;
  };
  counter.Count(a, with_path("/wp-login.php", 404, 0), 1000);
  counter.Count(a, with_path("/wp-login.php", 404, 0), 1001);
  counter.Count(a, with_path("/index.php", 502, 40), 1002);
  counter.Count(a, with_path(long_path, 200, 0), 1003);
  counter.Fold();
  ShmMap::Lock lock(map_, getpid());
  std::vector<std::string> keys;
  map_.Drain(&keys, 100, [](ShmMap::Slot*) { return true; });
  std::map<std::string, TrafficCounter::PathCounts> paths;
  for (auto& key : keys) {
    if (key.size() != 9 || key[0] != static_cast<char>(TrafficCounter::kPathTag)) continue;
    auto counts = ShmMap::Value<TrafficCounter::PathCounts>(map_.Find(key));
    std::string text;
    for (size_t chunk = 0; chunk * ShmMap::kValueBytes < counts.text_len; ++chunk) {
      std::string text_key = key;
      text_key[0] = static_cast<char>(TrafficCounter::kPathTextTag);
      text_key.push_back(static_cast<char>(chunk));
      ShmMap::Slot* slot = map_.Find(text_key);
      ASSERT_TRUE(slot) << chunk;
      text.append(reinterpret_cast<const char*>(slot->value),
                  std::min(ShmMap::kValueBytes, counts.text_len - chunk * ShmMap::kValueBytes));
    }
    paths[text] = counts;
  }
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths["/wp-login.php"].requests, 2u);
  EXPECT_EQ(paths["/wp-login.php"].status_5xx, 0u);
  EXPECT_EQ(paths["/index.php"].status_5xx, 1u);
  EXPECT_EQ(paths["/index.php"].upstream_ms, 40u);
  auto& longest = paths[long_path.substr(0, TrafficCounter::kMaxPath)];
  EXPECT_EQ(longest.requests, 1u);
  EXPECT_EQ(longest.truncated, 1);
}

// A path is hashed by whole words and overlapping loads for its last bytes: paths of every
// length up to three words that differ in any single byte are still counted apart.
TEST_F(TrafficCounterTest, PathsThatDifferInOneByteAreCountedApart) {
  TrafficCounter counter(&map_, getpid());
  IpAddress a = *IpAddress::Parse("192.0.2.1");
  std::vector<std::string> paths;
  for (size_t len = 1; len <= 24; ++len) {
    const std::string base(len, 'a');
    paths.push_back(base);
    for (size_t i = 0; i < len; ++i) {
      std::string variant = base;
      variant[i] = 'b';
      paths.push_back(variant);
    }
  }
  int64_t now = 1000;
  for (const auto& path : paths) {
    TrafficCounter::Sample s = Sample(false);
    s.path = path;
    counter.Count(a, s, now++);
  }
  counter.Fold();
  ShmMap::Lock lock(map_, getpid());
  std::vector<std::string> keys;
  map_.Drain(&keys, 4096, [](ShmMap::Slot*) { return true; });
  size_t counted = 0;
  for (auto& key : keys) {
    if (key.size() != 9 || key[0] != static_cast<char>(TrafficCounter::kPathTag)) continue;
    EXPECT_EQ(ShmMap::Value<TrafficCounter::PathCounts>(map_.Find(key)).requests, 1u);
    ++counted;
  }
  EXPECT_EQ(counted, paths.size());
}

TrafficCounter::Sample Visit(std::string_view path, std::string_view user_agent,
                             uint32_t strikes = 0) {
  TrafficCounter::Sample s = Sample(strikes > 0, nullptr, strikes ? 429 : 200);
  s.path = path;
  s.user_agent = user_agent;
  s.strikes = strikes;
  return s;
}

// Per address: its distinct paths, its top path, its user agent and its highest strike count,
// as a flush takes them (and clears them for the next one).
TEST_F(TrafficCounterTest, ProfileOfAnAddress) {
  TrafficCounter counter(&map_, getpid());
  IpAddress a = *IpAddress::Parse("192.0.2.10");
  IpAddress b = *IpAddress::Parse("192.0.2.11");
  int64_t now = 1000;
  for (const char* path : {"/a", "/b", "/a", "/c", "/a", "/a"}) {
    counter.Count(a, Visit(path, "curl/8.5"), now++);
  }
  counter.Count(a, Visit("/a", "bot/1", 2), now++);
  counter.Count(a, Visit("/a", "curl/8.5", 3), now++);
  counter.Count(a, Visit("/b", "curl/8.5", 1), now++);
  counter.Count(b, Visit("/login", ""), now++);
  counter.Fold();
  ShmMap::Lock lock(map_, getpid());
  TrafficCounter::AddressProfile p = counter.TakeProfile(a.bytes());
  EXPECT_EQ(p.paths.Estimate(), 3);
  EXPECT_EQ(p.top_path, "/a");
  EXPECT_EQ(p.user_agent, "curl/8.5");
  EXPECT_EQ(p.strikes, 3u);
  TrafficCounter::AddressProfile q = counter.TakeProfile(b.bytes());
  EXPECT_EQ(q.paths.Estimate(), 1);
  EXPECT_EQ(q.top_path, "/login");
  EXPECT_EQ(q.user_agent, "");  // none sent
  EXPECT_EQ(q.strikes, 0u);
  // Taken: the next flush starts afresh.
  TrafficCounter::AddressProfile again = counter.TakeProfile(a.bytes());
  EXPECT_TRUE(again.paths.empty());
  EXPECT_EQ(again.top_path, "");
  EXPECT_EQ(again.user_agent, "");
  EXPECT_EQ(again.strikes, 0u);
}

// Two workers' summaries merge in the zone: the union of their paths, the path and the user
// agent that lead overall (not in each worker), the highest strikes.
TEST_F(TrafficCounterTest, ProfilesOfTwoWorkersMerge) {
  TrafficCounter one(&map_, getpid()), two(&map_, getpid());
  IpAddress a = *IpAddress::Parse("2001:db8::a");
  one.Count(a, Visit("/x", "A"), 1);
  one.Count(a, Visit("/y", "A"), 2);
  one.Count(a, Visit("/y", "B", 4), 3);
  two.Count(a, Visit("/z", "B"), 4);
  two.Count(a, Visit("/y", "A"), 5);
  two.Count(a, Visit("/y", "A", 1), 6);
  one.Fold();
  two.Fold();
  ShmMap::Lock lock(map_, getpid());
  TrafficCounter::AddressProfile p = one.TakeProfile(a.bytes());
  EXPECT_EQ(p.paths.Estimate(), 3);
  EXPECT_EQ(p.top_path, "/y");
  EXPECT_EQ(p.user_agent, "A");
  EXPECT_EQ(p.strikes, 4u);
}

// A user agent counts by its first 120 bytes, and a longer one shows it was cut.
TEST_F(TrafficCounterTest, LongUserAgentIsCut) {
  TrafficCounter counter(&map_, getpid());
  IpAddress a = *IpAddress::Parse("192.0.2.12");
  std::string long_agent(300, 'M');
  counter.Count(a, Visit("/", long_agent), 1);
  counter.Count(a, Visit("/", long_agent.substr(0, 200)), 2);  // the same first 120 bytes
  std::string exact(TrafficCounter::kMaxUserAgent, 'E');
  IpAddress b = *IpAddress::Parse("192.0.2.13");
  counter.Count(b, Visit("/", exact), 3);
  counter.Fold();
  ShmMap::Lock lock(map_, getpid());
  TrafficCounter::AddressProfile p = counter.TakeProfile(a.bytes());
  EXPECT_EQ(p.user_agent, std::string(TrafficCounter::kMaxUserAgent, 'M') + "...");
  EXPECT_EQ(p.user_agent_count, 2u);
  EXPECT_EQ(counter.TakeProfile(b.bytes()).user_agent, exact);
}

// Whatever clients send, the zone stays its size and the worker's own table too: many
// distinct paths and user agents (long ones) only evict older slots, and an address that
// asks for one path and sends one user agent most of the time still has them reported.
TEST_F(TrafficCounterTest, MemoryStaysBoundedUnderManyPathsAndUserAgents) {
  const size_t slots = map_.ReadStats().slots;
  const size_t region = region_.size();
  TrafficCounter counter(&map_, getpid());
  IpAddress scanner = *IpAddress::Parse("198.51.100.1");
  const std::string tail(2000, 'z');
  int64_t now = 1;
  for (int i = 0; i < 50000; ++i) {
    const std::string unique = "/scan/" + std::to_string(i) + tail;
    const std::string agent = "agent " + std::to_string(i) + tail;
    if (i % 3 == 0) {
      counter.Count(scanner, Visit("/wp-login.php", "masscan/1.3"), now++);
    }
    counter.Count(scanner, Visit(unique, agent), now++);
    counter.Count(scanner, Visit("/wp-login.php", "masscan/1.3"), now++);
    counter.Count(
        *IpAddress::Parse("10.1." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250)),
        Visit(unique, agent), now++);
    if (i % 100 == 0) counter.Fold();
  }
  counter.Fold();
  ShmMap::Stats stats = map_.ReadStats();
  EXPECT_EQ(stats.slots, slots);
  EXPECT_LE(stats.entries, slots);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(region_.size(), region);
  ShmMap::Lock lock(map_, getpid());
  TrafficCounter::AddressProfile p = counter.TakeProfile(scanner.bytes());
  EXPECT_GT(p.paths.Estimate(), 100);  // (at least the last fold's hundred)
  EXPECT_EQ(p.top_path, "/wp-login.php");
  EXPECT_EQ(p.user_agent, "masscan/1.3");
}

TEST_F(TrafficCounterTest, FoldWithNothingCountedLeavesTheZoneAlone) {
  TrafficCounter counter(&map_, getpid());
  counter.Fold();
  EXPECT_EQ(map_.ReadStats().entries, 0u);
}

}  // namespace
}  // namespace warden
