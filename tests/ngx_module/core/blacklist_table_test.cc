#include "core/blacklist_table.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace warden {
namespace {

Cidr C(const char* text) {
  auto cidr = Cidr::Parse(text);
  if (!cidr) throw std::invalid_argument(std::string("test CIDR does not parse: ") + text);
  return *cidr;
}
IpAddress A(const char* text) { return *IpAddress::Parse(text); }

class BlacklistTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_.resize(BlacklistTable::RegionSize(1024));
    ASSERT_TRUE(table_.Attach(region_.data(), region_.size()));
  }
  void Add(const char* cidr, int64_t expires = 0, EntrySource src = EntrySource::kManual) {
    BlacklistTable::WriteBatch batch(table_, getpid());
    ASSERT_TRUE(batch.Upsert(C(cidr), expires, src));
  }
  void Remove(const char* cidr) {
    BlacklistTable::WriteBatch batch(table_, getpid());
    batch.Remove(C(cidr));
  }
  std::optional<BlacklistTable::Match> Look(const char* addr, int64_t now = 1000) {
    return table_.Lookup(A(addr), now);
  }

  std::vector<char> region_;
  BlacklistTable table_;
};

TEST_F(BlacklistTableTest, ExactAddressMatches) {
  Add("192.0.2.1");
  auto m = Look("192.0.2.1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->cidr.ToString(), "192.0.2.1");
  EXPECT_FALSE(Look("192.0.2.2"));
}

// Lookups remember recent misses per view; a ban written through another view of the zone
// (another worker, the leader) must be seen at once all the same, in either IP family.
TEST_F(BlacklistTableTest, ARememberedMissEndsWithTheNextChangeFromAnyWriter) {
  BlacklistTable leader;
  ASSERT_TRUE(leader.Attach(region_.data(), region_.size()));
  for (const char* addr : {"192.0.2.9", "2001:db8::9"}) {
    EXPECT_FALSE(Look(addr));
    EXPECT_FALSE(Look(addr));  // now answered from the remembered miss
    {
      BlacklistTable::WriteBatch batch(leader, getpid() + 1);
      ASSERT_TRUE(batch.Upsert(C(addr), 0, EntrySource::kManual));
    }
    EXPECT_TRUE(Look(addr)) << addr;
  }
  // A wider network added later covers a remembered miss too.
  EXPECT_FALSE(Look("198.51.100.7"));
  {
    BlacklistTable::WriteBatch batch(leader, getpid() + 1);
    ASSERT_TRUE(batch.Upsert(C("198.51.100.0/24"), 0, EntrySource::kManual));
  }
  EXPECT_TRUE(Look("198.51.100.7"));
}

TEST_F(BlacklistTableTest, ARememberedMissDoesNotFollowTheViewToAnotherZone) {
  Add("203.0.113.1");  // one batch here, one batch there: the same sequence in both
  EXPECT_FALSE(Look("192.0.2.9"));
  std::vector<char> other(BlacklistTable::RegionSize(1024));
  BlacklistTable writer;
  ASSERT_TRUE(writer.Attach(other.data(), other.size()));
  {
    BlacklistTable::WriteBatch batch(writer, getpid());
    ASSERT_TRUE(batch.Upsert(C("192.0.2.9"), 0, EntrySource::kManual));
  }
  // Give the other zone the sequence this one had when the miss was remembered.
  ASSERT_TRUE(table_.Attach(other.data(), other.size()));
  EXPECT_TRUE(Look("192.0.2.9"));
}

TEST_F(BlacklistTableTest, CidrMatchesV4AndMappedClients) {
  Add("10.0.0.0/8");
  EXPECT_TRUE(Look("10.200.3.4"));
  EXPECT_TRUE(Look("::ffff:10.200.3.4"));
  EXPECT_FALSE(Look("11.0.0.1"));
}

TEST_F(BlacklistTableTest, V6Ranges) {
  Add("2001:db8::/32");
  Add("2001:db9::7");
  EXPECT_TRUE(Look("2001:db8:abcd::1"));
  EXPECT_TRUE(Look("2001:db9::7"));
  EXPECT_FALSE(Look("2001:db9::8"));
  EXPECT_FALSE(Look("10.0.0.1"));
}

TEST_F(BlacklistTableTest, LongestPrefixWins) {
  Add("10.0.0.0/8", 0, EntrySource::kFeed);
  Add("10.1.2.3", 0, EntrySource::kAutoban);
  auto m = Look("10.1.2.3");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, EntrySource::kAutoban);
  EXPECT_EQ(Look("10.1.2.4")->cidr.ToString(), "10.0.0.0/8");
}

TEST_F(BlacklistTableTest, ExpiryStopsMatchingOnTime) {
  Add("192.0.2.9", /*expires=*/5000);
  EXPECT_TRUE(Look("192.0.2.9", 4999));
  EXPECT_FALSE(Look("192.0.2.9", 5000));
  // An expired specific entry falls through to a live broader one.
  Add("192.0.2.0/24");
  EXPECT_EQ(Look("192.0.2.9", 6000)->cidr.ToString(), "192.0.2.0/24");
}

TEST_F(BlacklistTableTest, SweepRemovesExpired) {
  Add("192.0.2.9", 5000);
  Add("192.0.2.10");
  BlacklistTable::WriteBatch batch(table_, getpid());
  EXPECT_EQ(batch.Sweep(6000, 1024), 1u);
  EXPECT_EQ(table_.entries(), 1u);
}

TEST_F(BlacklistTableTest, UpsertUpdatesInPlace) {
  Add("192.0.2.9", 5000);
  Add("192.0.2.9", 0);
  EXPECT_EQ(table_.entries(), 1u);
  EXPECT_TRUE(Look("192.0.2.9", 999999));
}

TEST_F(BlacklistTableTest, RemoveKeepsOtherEntriesReachable) {
  // Fill densely so probe chains overlap, then remove half and check the rest.
  std::vector<std::string> addrs;
  for (int i = 0; i < 700; ++i)
    addrs.push_back("198.51." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  for (auto& a : addrs) Add(a.c_str());
  for (size_t i = 0; i < addrs.size(); i += 2) Remove(addrs[i].c_str());
  for (size_t i = 0; i < addrs.size(); ++i) {
    EXPECT_EQ(static_cast<bool>(Look(addrs[i].c_str())), i % 2 == 1) << addrs[i];
  }
  EXPECT_EQ(table_.entries(), 350u);
}

TEST_F(BlacklistTableTest, RefusesPastMaxLoadInsteadOfCorrupting) {
  BlacklistTable::WriteBatch batch(table_, getpid());
  int accepted = 0;
  for (int i = 0; i < 1024; ++i) {
    accepted += batch.Upsert(Cidr(IpAddress::FromV4(0x0a000000 + i), 128), 0, EntrySource::kManual);
  }
  EXPECT_LT(accepted, 1024);
  EXPECT_GT(accepted, 700);
  EXPECT_EQ(table_.ReadStats().rejected_full, static_cast<uint64_t>(1024 - accepted));
}

TEST_F(BlacklistTableTest, GenerationReloadKeepsOldListUntilCommit) {
  Add("192.0.2.1");
  Add("192.0.2.2");
  {
    BlacklistTable::WriteBatch batch(table_, getpid());
    batch.BeginGeneration();
    batch.Upsert(C("192.0.2.2"), 0, EntrySource::kManual);
    batch.Upsert(C("192.0.2.3"), 0, EntrySource::kManual);
  }
  // While the reload runs both the old and the new list match.
  EXPECT_TRUE(Look("192.0.2.1"));
  EXPECT_TRUE(Look("192.0.2.3"));
  {
    BlacklistTable::WriteBatch batch(table_, getpid());
    batch.CommitGeneration();
  }
  // After commit the entry missing from the reload stops matching at once...
  EXPECT_FALSE(Look("192.0.2.1"));
  EXPECT_TRUE(Look("192.0.2.2"));
  // ...and the sweep frees its slot.
  BlacklistTable::WriteBatch batch(table_, getpid());
  EXPECT_EQ(batch.Sweep(1000, 1024), 1u);
  EXPECT_EQ(table_.entries(), 2u);
}

TEST_F(BlacklistTableTest, ReattachKeepsData) {
  Add("192.0.2.1");
  BlacklistTable again;
  ASSERT_TRUE(again.Attach(region_.data(), region_.size()));
  EXPECT_TRUE(again.Lookup(A("192.0.2.1"), 1000));
}

TEST_F(BlacklistTableTest, AttachRejectsTinyRegion) {
  std::vector<char> tiny(64);
  BlacklistTable t;
  EXPECT_FALSE(t.Attach(tiny.data(), tiny.size()));
}

TEST_F(BlacklistTableTest, LeaderElection) {
  EXPECT_TRUE(table_.TryLead(getpid(), 1000, 2000));
  // Another live process cannot take over while the lease is fresh...
  EXPECT_FALSE(table_.TryLead(getppid(), 1500, 2000));
  // ...but can once the heartbeat is older than the lease.
  EXPECT_TRUE(table_.TryLead(getppid(), 5000, 2000));
  table_.ResignLeadership(getppid());
  EXPECT_EQ(table_.leader_pid(), 0);
}

TEST_F(BlacklistTableTest, DeadLeaderIsReplaced) {
  ASSERT_TRUE(table_.TryLead(999999, 1000, 60000));  // no such pid
  EXPECT_TRUE(table_.TryLead(getpid(), 1001, 60000));
}

// A writer descheduled inside its batch (a loaded machine) must not let a banned client in:
// the reader waits for the batch to end rather than answer without the list.
TEST_F(BlacklistTableTest, ReaderWaitsForAWriterInsideItsBatch) {
  Add("203.0.113.7");
  std::atomic<bool> open{false};
  std::thread writer([&] {
    // Mid-batch the entry is gone: only a reader that waits for the batch to end sees it.
    BlacklistTable::WriteBatch batch(table_, getpid());
    batch.Remove(C("203.0.113.7"));
    open = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    batch.Upsert(C("203.0.113.7"), 0, EntrySource::kManual);
  });
  while (!open) std::this_thread::yield();
  auto match = Look("203.0.113.7");
  writer.join();
  ASSERT_TRUE(match.has_value()) << "a banned address got through while a writer held a batch";
  EXPECT_EQ(match->cidr.ToString(), "203.0.113.7");
}

// A writer that died inside its batch leaves the sequence odd until the next writer: readers
// answer from the list as it stands, at once, instead of letting everyone in.
TEST(BlacklistTableDeadWriterTest, ReadersUseTheListAsItStands) {
  size_t bytes = BlacklistTable::RegionSize(1024);
  void* region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  BlacklistTable table;
  ASSERT_TRUE(table.Attach(region, bytes));
  {
    BlacklistTable::WriteBatch batch(table, getpid());
    ASSERT_TRUE(batch.Upsert(C("203.0.113.7"), 0, EntrySource::kManual));
  }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    BlacklistTable writer;
    writer.Attach(region, bytes);
    auto* batch = new BlacklistTable::WriteBatch(writer, getpid());  // never closed
    batch->Upsert(C("198.51.100.0/24"), 0, EntrySource::kManual);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  auto match = table.Lookup(A("203.0.113.7"), 1000);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->cidr.ToString(), "203.0.113.7");
  EXPECT_TRUE(table.Lookup(A("198.51.100.9"), 1000).has_value()) << "the dead writer's entry";
  // The next writer takes the lock over and evens the sequence out.
  {
    BlacklistTable::WriteBatch batch(table, getpid());
    ASSERT_TRUE(batch.Remove(C("198.51.100.0/24")));
  }
  EXPECT_FALSE(table.Lookup(A("198.51.100.9"), 1000).has_value());
  munmap(region, bytes);
}

// Randomised comparison against a simple model: the table must agree with a linear scan.
// An IPv6 network at the lengths where IPv4 /16../23 networks live (112..119) is no IPv4
// network: it matches IPv6 clients, never an IPv4 client.
TEST_F(BlacklistTableTest, V6NetworksAtV4ShortLengths) {
  Add("2001:db8::1:0/116");
  Add("::ffff:10.1.0.0/116");  // 10.1.0.0/20 written as IPv6
  EXPECT_TRUE(Look("2001:db8::1:abc"));
  EXPECT_FALSE(Look("2001:db8::2:1"));
  EXPECT_TRUE(Look("10.1.15.1"));
  EXPECT_FALSE(Look("10.1.16.1"));
  EXPECT_FALSE(Look("10.2.0.1"));
  Remove("::ffff:10.1.0.0/116");
  EXPECT_FALSE(Look("10.1.15.1"));
  EXPECT_TRUE(Look("2001:db8::1:abc"));
}

// IPv6 networks shorter than /96 match IPv4 clients only when they hold all of IPv4.
TEST_F(BlacklistTableTest, WideV6NetworksAndIPv4Clients) {
  Add("2001:db8::/32");
  Add("::/88");  // no: IPv4-mapped addresses have ffff in bits 80..95
  EXPECT_FALSE(Look("10.1.2.3"));
  EXPECT_TRUE(Look("2001:db8::5"));
  Add("::/64");  // all of IPv4 (and more)
  EXPECT_EQ(Look("10.1.2.3")->cidr.ToString(), "::/64");
  Remove("::/64");
  EXPECT_FALSE(Look("10.1.2.3"));
  Add("::fffe:0:0/95");  // ::ffff:0:0/96 and ::fffe:0:0/96
  EXPECT_TRUE(Look("10.1.2.3"));
  EXPECT_TRUE(Look("::ffff:10.1.2.3"));
  Remove("::fffe:0:0/95");
  EXPECT_FALSE(Look("10.1.2.3"));
}

TEST(BlacklistTableModelTest, AgreesWithLinearScan) {
  std::vector<char> region(BlacklistTable::RegionSize(4099) + 17);  // any slot count works
  BlacklistTable table;
  ASSERT_TRUE(table.Attach(region.data(), region.size()));
  std::mt19937 rng(42);
  std::set<std::pair<int, uint32_t>> model;  // (v4 prefix length, network)
  for (int step = 0; step < 5000; ++step) {
    // Every group of lengths a lookup treats apart: /0../7 probed always, /8../15 and
    // /16../23 only where the client's /8 or /16 holds one, /24 and longer always.
    int len = std::vector<int>{0, 5, 8, 12, 15, 16, 20, 23, 24, 28, 32}[rng() % 11];
    uint32_t net = (rng() & 0x0f0f0f0f) & (len == 0 ? 0 : ~uint32_t{0} << (32 - len));
    Cidr c(IpAddress::FromV4(net), 96 + len);
    BlacklistTable::WriteBatch batch(table, getpid());
    if (rng() % 3 == 0) {
      batch.Remove(c);
      model.erase({len, net});
    } else if (batch.Upsert(c, 0, EntrySource::kManual)) {
      model.insert({len, net});
    }
  }
  for (int probe = 0; probe < 5000; ++probe) {
    uint32_t addr = rng() & 0x0f0f0f0f;
    int longest = -1;  // the longest matching network decides (it carries the reason)
    for (auto& [len, net] : model) {
      uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
      if ((addr & mask) == net) longest = std::max(longest, len);
    }
    auto match = table.Lookup(IpAddress::FromV4(addr), 0);
    ASSERT_EQ(match.has_value(), longest >= 0);
    if (match) {
      EXPECT_EQ(match->cidr.prefix_len(), 96 + longest);
    }
  }
  EXPECT_EQ(table.entries(), model.size());
}

}  // namespace
}  // namespace warden
