#include "core/geo_db.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace warden {
namespace {

// The real CC0 database that scripts/install-deps.sh installs from npm.
const char* kDb = WARDEN_COUNTRY_MMDB;

sockaddr_storage V4(const char* text) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, text, &sin->sin_addr);
  return ss;
}

sockaddr_storage V6(const char* text) {
  sockaddr_storage ss{};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &sin6->sin6_addr);
  return ss;
}

TEST(GeoDbTest, LooksUpCountries) {
  std::string err;
  auto db = GeoDb::Open(kDb, "", &err);
  ASSERT_TRUE(db) << err;
  char cc[3];
  auto google = V4("8.8.8.8");
  ASSERT_TRUE(db->Country(reinterpret_cast<sockaddr*>(&google), cc));
  EXPECT_STREQ(cc, "US");
  auto mapped = V6("::ffff:8.8.8.8");
  ASSERT_TRUE(db->Country(reinterpret_cast<sockaddr*>(&mapped), cc));
  EXPECT_STREQ(cc, "US");
  auto v6 = V6("2001:4860:4860::8888");
  ASSERT_TRUE(db->Country(reinterpret_cast<sockaddr*>(&v6), cc));
  EXPECT_STREQ(cc, "US");
  auto loopback = V4("127.0.0.1");
  EXPECT_FALSE(db->Country(reinterpret_cast<sockaddr*>(&loopback), cc));
}

TEST(GeoDbTest, ExplicitLookupPath) {
  std::string err;
  auto db = GeoDb::Open(kDb, "country_code", &err);
  ASSERT_TRUE(db) << err;
  char cc[3];
  auto addr = V4("8.8.8.8");
  EXPECT_TRUE(db->Country(reinterpret_cast<sockaddr*>(&addr), cc));
  auto wrong = GeoDb::Open(kDb, "country.iso_code", &err);
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(wrong->Country(reinterpret_cast<sockaddr*>(&addr), cc));
}

// The per-process cache must answer exactly as the tree does, for hits, misses, and addresses
// that evict each other (far more addresses than cache slots, every one asked three times).
TEST(GeoDbTest, CachedAnswersMatchTheTree) {
  std::string err;
  auto cached = GeoDb::Open(kDb, "", &err);
  ASSERT_TRUE(cached) << err;
  std::mt19937 rng(7);
  std::vector<sockaddr_storage> addrs;
  for (int i = 0; i < 6000; ++i) {
    sockaddr_storage ss{};
    if (i % 3 == 0) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      for (auto& b : sin6->sin6_addr.s6_addr) b = static_cast<uint8_t>(rng());
      sin6->sin6_addr.s6_addr[0] = 0x20;  // 2000::/8, mostly allocated
    } else {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = rng();
    }
    addrs.push_back(ss);
  }
  std::vector<std::string> expected;
  int found = 0;
  for (auto& ss : addrs) {
    auto fresh = GeoDb::Open(kDb, "", &err);  // an empty cache: the tree's own answer
    char cc[3] = "";
    bool ok = fresh->Country(reinterpret_cast<sockaddr*>(&ss), cc);
    expected.push_back(ok ? cc : "");
    found += ok;
  }
  ASSERT_GT(found, 1000);  // the sample really mixes hits and misses
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < addrs.size(); ++i) {
      size_t k = pass == 1 ? addrs.size() - 1 - i : (i * 7919) % addrs.size();
      char cc[3] = "";
      bool ok = cached->Country(reinterpret_cast<sockaddr*>(&addrs[k]), cc);
      ASSERT_EQ(ok ? std::string(cc) : "", expected[k]) << "pass " << pass << " address " << k;
    }
  }
}

TEST(GeoDbTest, ClearErrors) {
  std::string err;
  EXPECT_FALSE(GeoDb::Open("/nonexistent/country.mmdb", "", &err));
  EXPECT_NE(err.find("/nonexistent/country.mmdb"), std::string::npos) << err;
  EXPECT_FALSE(GeoDb::Open(kDb, "country..iso_code", &err));
  EXPECT_NE(err.find("lookup path"), std::string::npos) << err;
  EXPECT_FALSE(GeoDb::Open("/etc/hostname", "", &err));
}

}  // namespace
}  // namespace warden
