#include "common/address.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(IpAddressTest, ParsesV4AsMapped) {
  auto a = IpAddress::Parse("192.0.2.7");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->IsV4());
  EXPECT_EQ(a->ToString(), "192.0.2.7");
  auto mapped = IpAddress::Parse("::ffff:192.0.2.7");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*a, *mapped);
}

TEST(IpAddressTest, TakesTheBytesOfAnInAddrAsTheyAre) {
  const uint8_t network_order[4] = {192, 0, 2, 7};  // as sin_addr holds 192.0.2.7
  const IpAddress a = IpAddress::FromV4Bytes(network_order);
  EXPECT_TRUE(a.IsV4());
  EXPECT_EQ(a.ToString(), "192.0.2.7");
  EXPECT_EQ(a, IpAddress::FromV4(0xc0000207));
}

TEST(IpAddressTest, ParsesV6) {
  auto a = IpAddress::Parse("2001:DB8::1");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->IsV4());
  EXPECT_EQ(a->ToString(), "2001:db8::1");
}

TEST(IpAddressTest, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "1.2.3.4.5", "example.com", "::g", "1.2.3.4 ",
                          "01234567890123456789012345678901234567890123456789"}) {
    EXPECT_FALSE(IpAddress::Parse(bad)) << bad;
  }
}

TEST(IpAddressTest, MasksBits) {
  auto a = IpAddress::Parse("10.1.255.255");
  EXPECT_EQ(a->Masked(96 + 8).ToString(), "10.0.0.0");
  EXPECT_EQ(a->Masked(96 + 20).ToString(), "10.1.240.0");
  EXPECT_EQ(a->Masked(128), *a);
  auto b = IpAddress::Parse("2001:db8:ffff::1");
  EXPECT_EQ(b->Masked(36).ToString(), "2001:db8:f000::");
  EXPECT_EQ(b->Masked(0).ToString(), "::");
}

TEST(CidrTest, ParsesAndCanonicalises) {
  auto c = Cidr::Parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix_len(), 104);
  EXPECT_TRUE(c->IsV4());
  EXPECT_EQ(c->ToString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::Parse("1.2.3.4")->ToString(), "1.2.3.4");
  EXPECT_EQ(Cidr::Parse("1.2.3.4/32")->ToString(), "1.2.3.4");
  EXPECT_EQ(Cidr::Parse("2001:db8::/32")->ToString(), "2001:db8::/32");
  EXPECT_EQ(Cidr::Parse("::ffff:10.0.0.0/104")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::Parse("  10.0.0.0/8\r")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::Parse("0.0.0.0/0")->ToString(), "0.0.0.0/0");
}

TEST(CidrTest, RejectsBadInputWithReason) {
  std::string err;
  EXPECT_FALSE(Cidr::Parse("1.2.3.4/33", &err));
  EXPECT_NE(err.find("prefix length"), std::string::npos) << err;
  EXPECT_FALSE(Cidr::Parse("1.2.3.4/", &err));
  EXPECT_FALSE(Cidr::Parse("1.2.3.4/x", &err));
  EXPECT_FALSE(Cidr::Parse("1.2.3.4/-1", &err));
  EXPECT_FALSE(Cidr::Parse("2001:db8::/129", &err));
  EXPECT_FALSE(Cidr::Parse("nonsense/8", &err));
  EXPECT_NE(err.find("not an IP address"), std::string::npos) << err;
  EXPECT_FALSE(Cidr::Parse("1.2.3.4/24", &err));
  EXPECT_NE(err.find("1.2.3.0/24"), std::string::npos) << err;
  EXPECT_EQ(Cidr::Parse("1.2.3.4/24", &err, true)->ToString(), "1.2.3.0/24");
}

TEST(CidrTest, ContainsIncludingMappedAddresses) {
  auto net = Cidr::Parse("192.168.0.0/16");
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("192.168.44.1")));
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("::ffff:192.168.44.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("192.169.0.1")));
  auto v6 = Cidr::Parse("2001:db8::/32");
  EXPECT_TRUE(v6->Contains(*IpAddress::Parse("2001:db8:1::5")));
  EXPECT_FALSE(v6->Contains(*IpAddress::Parse("2001:db9::5")));
  EXPECT_FALSE(v6->Contains(*IpAddress::Parse("192.168.44.1")));
}

}  // namespace
}  // namespace warden
