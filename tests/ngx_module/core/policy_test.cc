#include "core/policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace warden {
namespace {

Cidr C(const char* text) { return *Cidr::Parse(text); }
IpAddress A(const char* text) { return *IpAddress::Parse(text); }

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_.resize(BlacklistTable::RegionSize(256));
    ASSERT_TRUE(table_.Attach(region_.data(), region_.size()));
  }
  void Ban(const char* cidr, EntrySource source = EntrySource::kManual) {
    BlacklistTable::WriteBatch batch(table_, getpid());
    batch.Upsert(C(cidr), 0, source);
  }
  Verdict Judge(const Policy& p, const char* addr, const char* country = nullptr) {
    Verdict v;
    p.Evaluate(A(addr), country, &table_, 1000, &v);
    return v;
  }
  static std::string Reason(const Verdict& v) { return std::string(v.reason, v.reason_len); }

  std::vector<char> region_;
  BlacklistTable table_;
};

TEST_F(PolicyTest, PassesUnlistedAddress) {
  Policy p;
  auto v = Judge(p, "192.0.2.1");
  EXPECT_EQ(v.decision, Decision::kPass);
  EXPECT_EQ(Reason(v), "");
}

TEST_F(PolicyTest, BlocksBlacklistedWithReason) {
  Policy p;
  Ban("192.0.2.0/24", EntrySource::kFeed);
  auto v = Judge(p, "192.0.2.1");
  EXPECT_EQ(v.decision, Decision::kBlock);
  EXPECT_EQ(Reason(v), "blacklist 192.0.2.0/24 (feed)");
}

// The console's chart tells blocks apart by their cause.
TEST_F(PolicyTest, EachBlockNamesItsCause) {
  Ban("192.0.2.1");
  Ban("192.0.2.2", EntrySource::kAutoban);
  Ban("192.0.2.3", EntrySource::kFeed);
  Policy p;
  ASSERT_TRUE(p.BlockCountry("CN"));
  EXPECT_EQ(Judge(p, "192.0.2.1").cause, Cause::kBlacklist);
  EXPECT_EQ(Judge(p, "192.0.2.2").cause, Cause::kAutoban);
  EXPECT_EQ(Judge(p, "192.0.2.3").cause, Cause::kBlacklist);
  EXPECT_EQ(Judge(p, "192.0.2.4", "CN").cause, Cause::kCountry);
  EXPECT_EQ(Judge(p, "192.0.2.4", "DE").cause, Cause::kNone);
  // a listed address from a blocked country: the blacklist decides first
  EXPECT_EQ(Judge(p, "192.0.2.2", "CN").cause, Cause::kAutoban);
}

TEST_F(PolicyTest, AChallengeEntryChallengesInsteadOfBlocking) {
  Ban("192.0.2.9", EntrySource::kChallenge);
  Policy p;
  auto v = Judge(p, "192.0.2.9");
  EXPECT_EQ(v.decision, Decision::kChallenge);
  EXPECT_EQ(Reason(v), "blacklist 192.0.2.9 (challenge)");
  // A dry run still only logs; the allow list still wins.
  Policy dry;
  dry.set_dry_run(true);
  EXPECT_EQ(Judge(dry, "192.0.2.9").decision, Decision::kDryRun);
  Policy allowing;
  allowing.Allow(C("192.0.2.0/24"));
  EXPECT_EQ(Judge(allowing, "192.0.2.9").decision, Decision::kAllow);
}

// The fleet's allow list (`warden allow`) rides on the blacklist: the most specific entry that
// covers an address decides, as nginx's own allow/deny would in that order.
TEST_F(PolicyTest, TheFleetsAllowListIsTheMostSpecificEntryThatWins) {
  Ban("192.0.2.0/24");
  Ban("192.0.2.7", EntrySource::kAllow);
  Ban("198.51.100.0/24", EntrySource::kAllow);
  Ban("198.51.100.9");
  Policy p;
  p.BlockCountry("DE");
  auto v = Judge(p, "192.0.2.7", "DE");
  EXPECT_EQ(v.decision, Decision::kAllow);  // over its network's ban and its country
  EXPECT_EQ(Reason(v), "allowlist 192.0.2.7 (fleet)");
  EXPECT_EQ(Judge(p, "192.0.2.8").decision, Decision::kBlock);
  EXPECT_EQ(Judge(p, "198.51.100.8", "DE").decision, Decision::kAllow);
  EXPECT_EQ(Judge(p, "198.51.100.9").decision, Decision::kBlock);  // a ban inside it: narrower
  Policy dry;  // a dry run does not turn an allow into a "would block"
  dry.set_dry_run(true);
  EXPECT_EQ(Judge(dry, "192.0.2.7").decision, Decision::kAllow);
}

TEST_F(PolicyTest, AllowListBeatsBlacklistAndCountry) {
  Policy p;
  p.Allow(C("192.0.2.0/28"));
  ASSERT_TRUE(p.BlockCountry("US"));
  Ban("192.0.2.0/24");
  auto v = Judge(p, "192.0.2.3", "US");
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(Reason(v), "allowlist 192.0.2.0/28");
  EXPECT_EQ(Judge(p, "192.0.2.100", "US").decision, Decision::kBlock);
}

TEST_F(PolicyTest, AllowListMatchesMappedClients) {
  Policy p;
  p.Allow(C("10.0.0.0/8"));
  EXPECT_EQ(Judge(p, "::ffff:10.1.2.3").decision, Decision::kAllow);
}

TEST_F(PolicyTest, BlocksCountryCaseInsensitively) {
  Policy p;
  ASSERT_TRUE(p.BlockCountry("cn"));
  EXPECT_TRUE(p.needs_country());
  auto v = Judge(p, "198.51.100.1", "CN");
  EXPECT_EQ(v.decision, Decision::kBlock);
  EXPECT_EQ(Reason(v), "country CN");
  EXPECT_EQ(Judge(p, "198.51.100.1", "DE").decision, Decision::kPass);
  EXPECT_EQ(Judge(p, "198.51.100.1", nullptr).decision, Decision::kPass);
}

TEST_F(PolicyTest, RejectsBadCountryCodes) {
  Policy p;
  EXPECT_FALSE(p.BlockCountry("C"));
  EXPECT_FALSE(p.BlockCountry("CHN"));
  EXPECT_FALSE(p.BlockCountry("1A"));
  EXPECT_FALSE(p.needs_country());
}

TEST_F(PolicyTest, DryRunTagsButDoesNotBlock) {
  Policy p;
  p.set_dry_run(true);
  Ban("192.0.2.1");
  auto v = Judge(p, "192.0.2.1");
  EXPECT_EQ(v.decision, Decision::kDryRun);
  EXPECT_EQ(Reason(v), "blacklist 192.0.2.1 (manual)");
}

TEST_F(PolicyTest, WorksWithoutTable) {
  Policy p;
  Verdict v;
  p.Evaluate(A("192.0.2.1"), nullptr, nullptr, 0, &v);
  EXPECT_EQ(v.decision, Decision::kPass);
}

TEST(DecisionNameTest, Names) {
  EXPECT_STREQ(DecisionName(Decision::kPass), "pass");
  EXPECT_STREQ(DecisionName(Decision::kAllow), "allow");
  EXPECT_STREQ(DecisionName(Decision::kBlock), "block");
  EXPECT_STREQ(DecisionName(Decision::kDryRun), "dry_run");
}

}  // namespace
}  // namespace warden
