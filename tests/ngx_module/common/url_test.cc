// The one URL reader: its parts, and what a message may show of a URL.
#include "common/url.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

Url Split(std::string_view text) {
  std::string why;
  std::optional<Url> url = Url::Split(text, &why);
  EXPECT_TRUE(url.has_value()) << text << ": " << why;
  return url.value_or(Url{});
}

std::string Why(std::string_view text) {
  std::string why;
  EXPECT_FALSE(Url::Split(text, &why).has_value()) << text;
  return why;
}

TEST(Url, Parts) {
  Url url = Split("mysql://war%64en:p%40ss@db.internal:3307/warden?socket=%2Ftmp%2Fa&x=1#frag");
  EXPECT_EQ(url.scheme, "mysql");
  EXPECT_TRUE(url.has_userinfo);
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.password, "p@ss");
  EXPECT_EQ(url.host, "db.internal");
  EXPECT_EQ(url.port, "3307");
  EXPECT_EQ(url.path, "/warden");
  ASSERT_EQ(url.query.size(), 2u);
  EXPECT_EQ(url.query[0], (std::pair<std::string, std::string>{"socket", "/tmp/a"}));
  EXPECT_EQ(url.query[1], (std::pair<std::string, std::string>{"x", "1"}));
}

TEST(Url, UserinfoWithoutPasswordAndTheLastAt) {
  Url url = Split("mysql://u@h/db");
  EXPECT_TRUE(url.has_userinfo);
  EXPECT_FALSE(url.password.has_value());
  url = Split("mysql://u:p@ss@h/db");  // an unencoded '@': the last one ends the userinfo
  EXPECT_EQ(url.password, "p@ss");
  EXPECT_EQ(url.host, "h");
  url = Split("redis://h");
  EXPECT_FALSE(url.has_userinfo);
  EXPECT_EQ(url.port, "");
  EXPECT_EQ(url.path, "");
}

TEST(Url, Ipv6AndEmptyHost) {
  Url url = Split("http://[::1]:9/x");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, "9");
  url = Split("unix:///run/redis.sock?db=2");
  EXPECT_EQ(url.host, "");
  EXPECT_EQ(url.path, "/run/redis.sock");
  EXPECT_EQ(Url::HostPort("::1", "80"), "[::1]:80");
  EXPECT_EQ(Url::HostPort("a", "80"), "a:80");
}

TEST(Url, Rejects) {
  EXPECT_NE(Why("host:6379").find("scheme"), std::string::npos);
  EXPECT_NE(Why("redis://::1:6379").find("brackets"), std::string::npos);
  EXPECT_NE(Why("redis://[::1").find("unterminated"), std::string::npos);
  EXPECT_NE(Why("redis://[]:1").find("empty [IPv6] host"), std::string::npos);
  EXPECT_NE(Why("redis://[::1]x").find("after [IPv6]"), std::string::npos);
  EXPECT_NE(Why("redis://h:").find("empty port"), std::string::npos);
  EXPECT_NE(Why("redis://:%zz@h").find("percent-encoding"), std::string::npos);
  EXPECT_NE(Why("redis://h?password=%zzsecret").find("\"password\""), std::string::npos);
  EXPECT_EQ(Why("redis://h?password=%zzsecret").find("secret"), std::string::npos);
  EXPECT_EQ(Why("redis://h?topsecret").find("topsecret"), std::string::npos);
}

TEST(Url, RedactHidesPasswordsAndQueryValues) {
  EXPECT_EQ(Url::Redact("mysql://warden:topsecret@h:99999/db"), "mysql://warden:***@h:99999/db");
  EXPECT_EQ(Url::Redact("redis://:pw@h/0?password=x&db=2"), "redis://:***@h/0?password=***&db=***");
  EXPECT_EQ(Url::Redact("https://api.internal/v1?token=abc#k"),
            "https://api.internal/v1?token=***");
  EXPECT_EQ(Url::Redact("http://h/x?abc"), "http://h/x?***");
  EXPECT_EQ(Url::Redact("mysql://u@[::1]:3307/db"), "mysql://u@[::1]:3307/db");
  EXPECT_EQ(Url::Redact("redis://h:6379"), "redis://h:6379");
}

TEST(Url, ParseNumber) {
  int n = 0;
  EXPECT_TRUE(Url::ParseNumber("65535", 1, 65535, &n));
  EXPECT_EQ(n, 65535);
  EXPECT_FALSE(Url::ParseNumber("0", 1, 65535, &n));
  EXPECT_FALSE(Url::ParseNumber("1x", 1, 65535, &n));
  EXPECT_FALSE(Url::ParseNumber("", 1, 65535, &n));
  EXPECT_FALSE(Url::ParseNumber("99999999999", 1, 65535, &n));
}

}  // namespace
}  // namespace warden
