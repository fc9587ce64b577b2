#include "core/autoban.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace warden {
namespace {

class AutobanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    strikes_region_.resize(ShmMap::RegionSize(256));
    ASSERT_TRUE(strikes_.Attach(strikes_region_.data(), strikes_region_.size()));
    table_region_.resize(BlacklistTable::RegionSize(256));
    ASSERT_TRUE(table_.Attach(table_region_.data(), table_region_.size()));
  }
  Autoban Make(uint32_t strikes, int64_t findtime_ms, int64_t bantime_ms, int ipv6_prefix = 64) {
    AutobanRule rule;
    rule.zone = "api";
    rule.ipv6_prefix = ipv6_prefix;
    rule.strikes = strikes;
    rule.findtime_ms = findtime_ms;
    rule.bantime_ms = bantime_ms;
    return Autoban(rule, &strikes_, &table_, "test", getpid());
  }
  IpAddress ip_ = *IpAddress::Parse("192.0.2.7");
  std::vector<char> strikes_region_, table_region_;
  ShmMap strikes_;
  BlacklistTable table_;
};

TEST_F(AutobanTest, BansAtTheNthStrikeWithinFindtime) {
  auto ab = Make(3, 60000, 600000);
  EXPECT_FALSE(ab.Strike(ip_, 1000));
  EXPECT_FALSE(ab.Strike(ip_, 2000));
  EXPECT_TRUE(ab.Strike(ip_, 3000));
  auto m = table_.Lookup(ip_, 3001);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, EntrySource::kAutoban);
  EXPECT_EQ(m->expires_ms, 603000);
  EXPECT_EQ(ab.bans(), 1u);
  // While banned, further strikes do not ban again.
  EXPECT_FALSE(ab.Strike(ip_, 4000));
}

// The strike count each refusal reached, for the console's top talkers.
TEST_F(AutobanTest, StrikeTellsTheCountItReached) {
  auto ab = Make(3, 60000, 600000);
  uint32_t strikes = 99;
  EXPECT_FALSE(ab.Strike(ip_, 1000, &strikes));
  EXPECT_EQ(strikes, 1u);
  EXPECT_FALSE(ab.Strike(ip_, 2000, &strikes));
  EXPECT_EQ(strikes, 2u);
  EXPECT_TRUE(ab.Strike(ip_, 3000, &strikes));
  EXPECT_EQ(strikes, 3u);  // the ban
  EXPECT_FALSE(ab.Strike(ip_, 4000, &strikes));
  EXPECT_EQ(strikes, 0u);  // banned already: counts nothing
  // Half a window later, the previous window's strikes count for half: 1 + 0.5 rounds down.
  auto slow = Make(10, 60000, 600000);
  IpAddress other = *IpAddress::Parse("192.0.2.8");
  EXPECT_FALSE(slow.Strike(other, 0, &strikes));
  EXPECT_FALSE(slow.Strike(other, 90000, &strikes));
  EXPECT_EQ(strikes, 1u);
}

TEST_F(AutobanTest, BansAgainAfterAnUnban) {
  auto ab = Make(3, 60000, 600000);
  EXPECT_FALSE(ab.Strike(ip_, 1000));
  EXPECT_FALSE(ab.Strike(ip_, 2000));
  EXPECT_TRUE(ab.Strike(ip_, 3000));
  {
    // `warden unban` reaches the node through the change stream.
    BlacklistTable::WriteBatch batch(table_, getpid());
    ASSERT_TRUE(batch.Remove(Cidr(ip_, 128)));
  }
  ASSERT_FALSE(table_.Lookup(ip_, 4000));
  // The strikes before the ban do not count again; three new ones ban again.
  EXPECT_FALSE(ab.Strike(ip_, 4000));
  EXPECT_FALSE(ab.Strike(ip_, 5000));
  EXPECT_TRUE(ab.Strike(ip_, 6000));
  EXPECT_TRUE(table_.Lookup(ip_, 6001));
  EXPECT_EQ(ab.bans(), 2u);
}

TEST_F(AutobanTest, StrikesFarApartNeverBan) {
  auto ab = Make(3, 10000, 600000);
  for (int64_t t = 0; t < 200000; t += 25000) EXPECT_FALSE(ab.Strike(ip_, t)) << t;
  EXPECT_FALSE(table_.Lookup(ip_, 200000));
}

TEST_F(AutobanTest, SlidingWindowCountsStrikesAcrossTheWindowEdge) {
  auto ab = Make(4, 10000, 600000);
  EXPECT_FALSE(ab.Strike(ip_, 0));  // opens the window [0, 10 s)
  EXPECT_FALSE(ab.Strike(ip_, 6000));
  EXPECT_FALSE(ab.Strike(ip_, 9000));
  // At 12 s the strikes of the last 10 s are 6, 9 and 12 s: three, no ban...
  EXPECT_FALSE(ab.Strike(ip_, 12000));
  // ...and at 12.5 s four: a ban, although they span two fixed windows.
  EXPECT_TRUE(ab.Strike(ip_, 12500));
}

TEST_F(AutobanTest, OneStrikeRuleBansAtOnce) {
  auto ab = Make(1, 60000, 1000);
  EXPECT_TRUE(ab.Strike(ip_, 0));
  EXPECT_TRUE(table_.Lookup(ip_, 999));
  EXPECT_FALSE(table_.Lookup(ip_, 1000));
  EXPECT_TRUE(ab.Strike(ip_, 1000));  // the ban is over: the next strike bans again
}

TEST_F(AutobanTest, AddressesAreCountedApart) {
  auto ab = Make(2, 60000, 60000);
  auto other = *IpAddress::Parse("2001:db8::1");
  EXPECT_FALSE(ab.Strike(ip_, 0));
  EXPECT_FALSE(ab.Strike(other, 0));
  EXPECT_TRUE(ab.Strike(other, 1));
  EXPECT_FALSE(table_.Lookup(ip_, 2));
}

TEST_F(AutobanTest, AnIpv6ClientIsCountedAndBannedByItsSlash64) {
  auto ab = Make(3, 60000, 600000);
  const IpAddress a = *IpAddress::Parse("2001:db8:0:1::1");
  const IpAddress b = *IpAddress::Parse("2001:db8:0:1:ffff::2");  // the same /64
  EXPECT_EQ(ab.Scope(a).ToString(), "2001:db8:0:1::/64");
  EXPECT_FALSE(ab.Strike(a, 1000));
  EXPECT_FALSE(ab.Strike(b, 1001));  // rotating addresses: one count
  EXPECT_TRUE(ab.Strike(a, 1002));
  EXPECT_TRUE(table_.Lookup(*IpAddress::Parse("2001:db8:0:1::99"), 1003).has_value());
  EXPECT_FALSE(table_.Lookup(*IpAddress::Parse("2001:db8:0:2::1"), 1003).has_value());
}

TEST_F(AutobanTest, Ipv4LoopbackAndSlash128AreSingleAddresses) {
  auto by64 = Make(1, 60000, 600000);
  EXPECT_EQ(by64.Scope(ip_).ToString(), "192.0.2.7");
  EXPECT_EQ(by64.Scope(*IpAddress::Parse("::1")).ToString(), "::1");
  // Never a network that holds IPv4 clients: ::/96, IPv4-mapped, NAT64, and the like.
  EXPECT_EQ(by64.Scope(*IpAddress::Parse("::2")).ToString(), "::2");
  EXPECT_EQ(by64.Scope(*IpAddress::Parse("64:ff9b::c000:201")).ToString(), "64:ff9b::c000:201");
  EXPECT_EQ(by64.Scope(*IpAddress::Parse("fe80::1")).ToString(), "fe80::1");
  auto by128 = Make(1, 60000, 600000, 128);
  const IpAddress a = *IpAddress::Parse("2001:db8::1");
  EXPECT_EQ(by128.Scope(a).ToString(), "2001:db8::1");
  EXPECT_TRUE(by128.Strike(a, 1000));
  EXPECT_FALSE(table_.Lookup(*IpAddress::Parse("2001:db8::2"), 1001).has_value());
}

TEST_F(AutobanTest, BansBeyondTheQueueAreCountedAndLogged) {
  std::vector<std::string> log;
  AutobanRule rule;
  rule.zone = "api";
  rule.strikes = 1;
  std::vector<char> region(ShmMap::RegionSize(4096));
  ShmMap strikes;
  ASSERT_TRUE(strikes.Attach(region.data(), region.size()));
  Autoban ab(rule, &strikes, nullptr, "test", getpid(),
             [&log](LogLevel, const std::string& line) { log.push_back(line); });
  for (uint32_t i = 0; i < Autoban::kMaxQueued + 5; ++i) {
    IpAddress::Bytes bytes{};
    bytes[10] = bytes[11] = 0xff;  // IPv4-mapped 10.x.y.z
    bytes[12] = 10;
    bytes[13] = static_cast<uint8_t>(i >> 16);
    bytes[14] = static_cast<uint8_t>(i >> 8);
    bytes[15] = static_cast<uint8_t>(i);
    ASSERT_TRUE(ab.Strike(IpAddress(bytes), 1000)) << i;
  }
  EXPECT_EQ(ab.dropped(), 5u);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("not sent to redis"), std::string::npos) << log[0];
}

}  // namespace
}  // namespace warden
