#include "core/cidr_set.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(CidrSetTest, LongestPrefixMatch) {
  CidrSet set;
  EXPECT_TRUE(set.empty());
  set.Add(*Cidr::Parse("10.0.0.0/8"));
  set.Add(*Cidr::Parse("10.1.0.0/16"));
  set.Add(*Cidr::Parse("2001:db8::/32"));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.Match(*IpAddress::Parse("10.1.2.3"))->ToString(), "10.1.0.0/16");
  EXPECT_EQ(set.Match(*IpAddress::Parse("10.2.2.3"))->ToString(), "10.0.0.0/8");
  EXPECT_EQ(set.Match(*IpAddress::Parse("2001:db8::9"))->ToString(), "2001:db8::/32");
  EXPECT_FALSE(set.Match(*IpAddress::Parse("11.0.0.1")));
}

TEST(CidrSetTest, DefaultRouteMatchesEverything) {
  CidrSet set;
  set.Add(*Cidr::Parse("::/0"));
  EXPECT_TRUE(set.Match(*IpAddress::Parse("192.0.2.1")));
  EXPECT_TRUE(set.Match(*IpAddress::Parse("2001:db8::1")));
}

}  // namespace
}  // namespace warden
