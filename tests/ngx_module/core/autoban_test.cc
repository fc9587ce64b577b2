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
  Autoban Make(uint32_t strikes, int64_t findtime_ms, int64_t bantime_ms) {
    AutobanRule rule;
    rule.zone = "api";
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

}  // namespace
}  // namespace warden
