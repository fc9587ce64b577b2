#include "geo_db.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

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
