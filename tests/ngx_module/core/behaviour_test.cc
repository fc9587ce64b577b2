#include "core/behaviour.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace warden {
namespace {

class BehaviourTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_.assign(Behaviour::kCountersBytes + ShmMap::RegionSize(256), 0);
    ASSERT_GT(Behaviour::Format(region_.data(), region_.size()), 0u);
    table_region_.resize(BlacklistTable::RegionSize(256));
    ASSERT_TRUE(table_.Attach(table_region_.data(), table_region_.size()));
  }
  Behaviour Make(uint32_t capacity, int64_t leak_ms, bool distinct,
                 BehaviourDecision decision = BehaviourDecision::kBan) {
    BehaviourRule rule;
    rule.name = "probe";
    rule.capacity = capacity;
    rule.leak_ms = leak_ms;
    rule.distinct_path = distinct;
    rule.decision = decision;
    rule.bantime_ms = 600000;
    return Behaviour(rule, region_.data(), region_.size(), &table_, "test", getpid());
  }
  using Outcome = Behaviour::Outcome;
  IpAddress ip_ = *IpAddress::Parse("192.0.2.7");
  std::vector<char> region_, table_region_;
  BlacklistTable table_;
};

TEST_F(BehaviourTest, TheEventAfterCapacityOverflowsAndBans) {
  auto b = Make(5, 60000, false);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b.Event(ip_, "/login", 401, 1000 + i).outcome, Outcome::kCounted) << i;
  }
  EXPECT_FALSE(table_.Lookup(ip_, 1010));
  auto r = b.Event(ip_, "/login", 401, 1005);
  ASSERT_EQ(r.outcome, Outcome::kOverflow);
  auto m = table_.Lookup(ip_, 1006);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, EntrySource::kAutoban);
  EXPECT_EQ(m->expires_ms, 1005 + 600000);
  EXPECT_EQ(r.reason,
            "behaviour probe: 6 events over capacity 5 (one leaks every 1m): 401 /login, 401 "
            "/login, 401 /login, 401 /login, 401 /login");
  EXPECT_EQ(b.events(), 6u);
  EXPECT_EQ(b.decisions(), 1u);
}

TEST_F(BehaviourTest, TheBucketLeaksOneEventPerLeakInterval) {
  auto b = Make(3, 10000, false);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.Event(ip_, "/x", 404, 0).outcome, Outcome::kCounted);
  EXPECT_DOUBLE_EQ(b.Level(ip_, 0), 3.0);
  EXPECT_DOUBLE_EQ(b.Level(ip_, 5000), 2.5);
  // One event leaked out by 10 s: room for one more, not two.
  EXPECT_EQ(b.Event(ip_, "/x", 404, 10000).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 10000).outcome, Outcome::kOverflow);
  // After an overflow the bucket starts empty.
  EXPECT_DOUBLE_EQ(b.Level(ip_, 10000), 0.0);
}

TEST_F(BehaviourTest, ASlowClientNeverOverflows) {
  auto b = Make(3, 10000, false, BehaviourDecision::kLog);
  for (int64_t t = 0; t < 1000000; t += 10000) {
    EXPECT_EQ(b.Event(ip_, "/x", 404, t).outcome, Outcome::kCounted) << t;
  }
  EXPECT_EQ(b.decisions(), 0u);
}

TEST_F(BehaviourTest, AClockThatGoesBackLeaksNothing) {
  auto b = Make(2, 1000, false, BehaviourDecision::kLog);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 50000).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 40000).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 40000).outcome, Outcome::kOverflow);
}

TEST_F(BehaviourTest, DistinctPathCountsEachPathOnce) {
  auto b = Make(10, 10000, true);
  // Repeating one 404 is not a scanner.
  EXPECT_EQ(b.Event(ip_, "/missing.png", 404, 0).outcome, Outcome::kCounted);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(b.Event(ip_, "/missing.png", 404, i).outcome, Outcome::kRepeat) << i;
  }
  EXPECT_NEAR(b.Level(ip_, 100), 1.0, 0.02);  // one event, 100 ms of leaking
  EXPECT_FALSE(table_.Lookup(ip_, 100));
}

TEST_F(BehaviourTest, DistinctPathsOverflowWithinAFewMoreThanCapacity) {
  auto b = Make(10, 10000, true);
  const char* paths[] = {"/.env",           "/wp-login.php",     "/phpmyadmin/", "/.git/config",
                         "/admin.php",      "/xmlrpc.php",       "/config.php",  "/backup.zip",
                         "/server-status",  "/.aws/credentials", "/shell.php",   "/db.sql",
                         "/test.php",       "/info.php",         "/wp-admin/",   "/old/",
                         "/vendor/phpunit", "/cgi-bin/",         "/.htpasswd",   "/id_rsa"};
  int overflow_at = -1;
  for (int i = 0; i < 20 && overflow_at < 0; ++i) {
    auto r = b.Event(ip_, paths[i], 404, i);
    if (r.outcome == Outcome::kOverflow) overflow_at = i;
  }
  // Eleven distinct paths overflow a bucket of ten unless two share a bit: never earlier.
  ASSERT_GE(overflow_at, 10);
  EXPECT_LT(overflow_at, 20);
  EXPECT_TRUE(table_.Lookup(ip_, 100));
}

TEST_F(BehaviourTest, DistinctPathsAreForgottenWhenTheBucketDrains) {
  auto b = Make(10, 1000, true);
  EXPECT_EQ(b.Event(ip_, "/a", 404, 0).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/a", 404, 500).outcome, Outcome::kRepeat);
  // Empty after 1 s: /a counts again.
  EXPECT_EQ(b.Event(ip_, "/a", 404, 1000).outcome, Outcome::kCounted);
}

TEST_F(BehaviourTest, ThePathSetCanOnlyUnderCount) {
  // However many paths, a full set of 64 bits counts at most 64 events: never more events
  // than distinct paths, which is what "never bans early" needs.
  auto b = Make(32, 1000000, true, BehaviourDecision::kLog);
  int counted = 0;
  for (int i = 0; i < 1000; ++i) {
    auto r = b.Event(ip_, "/p" + std::to_string(i), 404, 0);
    if (r.outcome != Behaviour::Outcome::kRepeat) ++counted;
    if (r.outcome == Outcome::kOverflow) break;
  }
  EXPECT_EQ(counted, 33);
}

TEST_F(BehaviourTest, DryRunDecidesWithoutBanning) {
  auto b = Make(1, 60000, false, BehaviourDecision::kLog);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 0).outcome, Outcome::kCounted);
  auto r = b.Event(ip_, "/y", 404, 1);
  EXPECT_EQ(r.outcome, Outcome::kOverflow);
  EXPECT_EQ(r.reason,
            "behaviour probe: 2 events over capacity 1 (one leaks every 1m): 404 /y, 404 /x");
  EXPECT_FALSE(table_.Lookup(ip_, 2));
  EXPECT_EQ(b.decisions(), 1u);
}

TEST_F(BehaviourTest, AChallengeRuleListsTheClientForAChallenge) {
  auto b = Make(1, 60000, false, BehaviourDecision::kChallenge);
  EXPECT_EQ(b.Event(ip_, "/login", 401, 0).outcome, Outcome::kCounted);
  auto r = b.Event(ip_, "/login", 401, 1);
  EXPECT_EQ(r.outcome, Outcome::kOverflow);
  auto m = table_.Lookup(ip_, 2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, EntrySource::kChallenge);
  EXPECT_EQ(b.decisions(), 1u);
  // A challenged client that solved the page and goes on is not listed again.
  EXPECT_EQ(b.Event(ip_, "/login", 401, 2).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/login", 401, 3).outcome, Outcome::kAlreadyBanned);
}

TEST_F(BehaviourTest, Ipv4SubnetBansTheSlash24AfterThatManyOfItsAddresses) {
  BehaviourRule rule;
  rule.name = "probe";
  rule.capacity = 1;
  rule.leak_ms = 60000;
  rule.bantime_ms = 600000;
  rule.ipv4_subnet = 3;
  Behaviour b(rule, region_.data(), region_.size(), &table_, "test", getpid());
  auto overflow = [&](const char* addr, int64_t t) {
    IpAddress a = *IpAddress::Parse(addr);
    b.Event(a, "/x", 404, t);
    return b.Event(a, "/x", 404, t);
  };
  EXPECT_TRUE(overflow("192.0.2.1", 0).subnet.empty());
  EXPECT_TRUE(overflow("198.51.100.1", 0).subnet.empty()) << "another /24";
  EXPECT_TRUE(overflow("192.0.2.2", 1000).subnet.empty());
  EXPECT_FALSE(table_.Lookup(*IpAddress::Parse("192.0.2.77"), 1001));
  auto third = overflow("192.0.2.3", 2000);
  EXPECT_EQ(third.subnet, "192.0.2.0/24");
  auto m = table_.Lookup(*IpAddress::Parse("192.0.2.77"), 2001);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->cidr.ToString(), "192.0.2.0/24");
  EXPECT_FALSE(table_.Lookup(*IpAddress::Parse("198.51.100.77"), 2001));
  // Addresses of another /24 counted apart, and only within bantime.
  EXPECT_TRUE(overflow("198.51.100.2", 600000).subnet.empty());
  EXPECT_TRUE(overflow("198.51.100.3", 700000).subnet.empty()) << "the first was too long ago";
}

TEST_F(BehaviourTest, ABanRuleBansAClientListedOnlyForAChallenge) {
  {
    BlacklistTable::WriteBatch batch(table_, getpid());
    ASSERT_TRUE(batch.Upsert(Cidr(ip_, 128), 1000000, EntrySource::kChallenge));
  }
  auto b = Make(1, 60000, false);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 0).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 1).outcome, Outcome::kOverflow);
  EXPECT_EQ(table_.Lookup(ip_, 2)->source, EntrySource::kAutoban);
}

TEST_F(BehaviourTest, AnAddressBannedAlreadyIsNotBannedTwice) {
  auto b = Make(1, 60000, false);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 0).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 1).outcome, Outcome::kOverflow);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 2).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(ip_, "/x", 404, 3).outcome, Outcome::kAlreadyBanned);
  EXPECT_EQ(b.decisions(), 1u);
}

TEST_F(BehaviourTest, EvidenceKeepsTheLastFiveAndShowsPathsSafely) {
  auto b = Make(7, 60000, false, BehaviourDecision::kLog);
  for (int i = 0; i < 7; ++i) b.Event(ip_, "/p" + std::to_string(i), 404, i);
  auto r = b.Event(ip_, std::string("/a\tb\nc") + std::string(100, 'x'), 403, 8);
  ASSERT_EQ(r.outcome, Outcome::kOverflow);
  EXPECT_EQ(r.reason.find('\t'), std::string::npos);
  EXPECT_EQ(r.reason.find('\n'), std::string::npos);
  EXPECT_NE(r.reason.find(": 403 /a?b?cxxx"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("..., 404 /p6, 404 /p5, 404 /p4, 404 /p3"), std::string::npos)
      << r.reason;
  EXPECT_EQ(r.reason.find("/p2"), std::string::npos) << r.reason;
}

TEST_F(BehaviourTest, AnIpv6ClientCountsByItsSlash64) {
  auto b = Make(2, 60000, false);
  const IpAddress a = *IpAddress::Parse("2001:db8:0:1::1");
  const IpAddress c = *IpAddress::Parse("2001:db8:0:1::2");
  EXPECT_EQ(b.Event(a, "/x", 404, 0).outcome, Outcome::kCounted);
  EXPECT_EQ(b.Event(c, "/x", 404, 0).outcome, Outcome::kCounted);
  auto r = b.Event(a, "/x", 404, 0);
  EXPECT_EQ(r.outcome, Outcome::kOverflow);
  EXPECT_EQ(r.scope.ToString(), "2001:db8:0:1::/64");
  EXPECT_TRUE(table_.Lookup(*IpAddress::Parse("2001:db8:0:1::99"), 1));
}

TEST_F(BehaviourTest, HotBucketsAreTheHalfFullOnesAndLeaveOnceDrained) {
  auto b = Make(10, 1000, false, BehaviourDecision::kLog);
  const IpAddress other = *IpAddress::Parse("192.0.2.8");
  for (int i = 0; i < 6; ++i) b.Event(ip_, "/x", 404, 0);
  for (int i = 0; i < 4; ++i) b.Event(other, "/x", 404, 0);  // under half: not hot
  std::vector<std::string> drained;
  auto hot = b.HotBuckets(0, &drained);
  ASSERT_EQ(hot.size(), 1u);
  EXPECT_EQ(hot[0].scope, "192.0.2.7");
  EXPECT_DOUBLE_EQ(hot[0].fill, 0.6);
  EXPECT_NEAR(b.HotBuckets(2000, &drained)[0].fill, 0.4, 1e-6);  // leaks as the bucket does
  EXPECT_TRUE(drained.empty());
  EXPECT_TRUE(b.HotBuckets(6000, &drained).empty());
  EXPECT_EQ(drained, std::vector<std::string>{"192.0.2.7"});
  // An overflow empties the bucket: it is no longer hot.
  for (int i = 0; i < 11; ++i) b.Event(other, "/x", 404, 10000);
  EXPECT_TRUE(b.HotBuckets(10000, nullptr).empty());
}

TEST_F(BehaviourTest, TheBucketsAndCountersOutliveAWorker) {
  {
    auto b = Make(3, 60000, false, BehaviourDecision::kLog);
    b.Event(ip_, "/x", 404, 0);
    b.Event(ip_, "/x", 404, 0);
  }
  // Another worker, or the next generation after a reload with the same size.
  ASSERT_GT(Behaviour::Format(region_.data(), region_.size()), 0u);
  auto b = Make(3, 60000, false, BehaviourDecision::kLog);
  EXPECT_DOUBLE_EQ(b.Level(ip_, 0), 2.0);
  EXPECT_EQ(b.events(), 2u);
}

}  // namespace
}  // namespace warden
