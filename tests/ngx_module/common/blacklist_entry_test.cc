#include "common/blacklist_entry.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(BlacklistEntryTest, RoundTrips) {
  BlacklistEntry e;
  e.cidr = *Cidr::Parse("10.0.0.0/8");
  e.expires_ms = 1700000000123;
  e.added_ms = 1690000000000;
  e.source = EntrySource::kAutoban;
  e.added_by = "nginx:web1";
  e.reason = "autoban: zone api, 5 strikes in 60s, ban #2";
  std::string err;
  auto back = BlacklistEntry::Decode("10.0.0.0/8", e.EncodeValue(), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->cidr, e.cidr);
  EXPECT_EQ(back->expires_ms, e.expires_ms);
  EXPECT_EQ(back->added_ms, e.added_ms);
  EXPECT_EQ(back->source, EntrySource::kAutoban);
  EXPECT_EQ(back->added_by, "nginx:web1");
  EXPECT_EQ(back->reason, e.reason);
}

// An allow entry is written v2, so that a node older than the allow list skips it as
// malformed instead of reading it as a ban; v2 holds allow entries only.
TEST(BlacklistEntryTest, AnAllowEntryIsWrittenV2) {
  BlacklistEntry e;
  e.cidr = *Cidr::Parse("192.0.2.7");
  e.source = EntrySource::kAllow;
  e.added_by = "console:ann@127.0.0.1";
  const std::string value = e.EncodeValue();
  EXPECT_EQ(value.substr(0, 3), "v2\t");
  std::string err;
  auto back = BlacklistEntry::Decode("192.0.2.7", value, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->source, EntrySource::kAllow);
  EXPECT_STREQ(EntrySourceName(EntrySource::kAllow), "allow");
  EXPECT_EQ(EntrySourceFromName("allow"), EntrySource::kAllow);
  EXPECT_FALSE(BlacklistEntry::Decode("192.0.2.7", "v1\t0\t0\tallow\tx\ty", &err));
  e.source = EntrySource::kManual;
  EXPECT_EQ(e.EncodeValue().substr(0, 3), "v1\t");
}

TEST(BlacklistEntryTest, ReasonMayHoldTabsAfterEncoding) {
  BlacklistEntry e;
  e.cidr = *Cidr::Parse("192.0.2.1");
  e.reason = "bad\tbot\nline";
  auto back = BlacklistEntry::Decode("192.0.2.1", e.EncodeValue(), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->reason, "bad bot line");
}

TEST(BlacklistEntryTest, ExpiredAt) {
  BlacklistEntry e;
  EXPECT_FALSE(e.ExpiredAt(1));  // permanent
  e.expires_ms = 100;
  EXPECT_FALSE(e.ExpiredAt(99));
  EXPECT_TRUE(e.ExpiredAt(100));
}

TEST(BlacklistEntryTest, RejectsMalformed) {
  std::string err;
  EXPECT_FALSE(BlacklistEntry::Decode("not-an-ip", "v1\t0\t0\tmanual\tx\ty", &err));
  EXPECT_FALSE(BlacklistEntry::Decode("192.0.2.1", "", &err));
  EXPECT_FALSE(BlacklistEntry::Decode("192.0.2.1", "v2\t0\t0\tmanual\tx\ty", &err));
  EXPECT_FALSE(BlacklistEntry::Decode("192.0.2.1", "v1\tsoon\t0\tmanual\tx\ty", &err));
  EXPECT_NE(err.find("timestamp"), std::string::npos) << err;
  EXPECT_FALSE(BlacklistEntry::Decode("192.0.2.1", "v1\t-5\t0\tmanual\tx\ty", &err));
  EXPECT_FALSE(BlacklistEntry::Decode("192.0.2.1", "v1\t0\t0\tmanual", &err));
}

}  // namespace
}  // namespace warden
