#include "storage/redis/redis_url.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

RedisUrl Parse(std::string_view text) {
  std::string error;
  auto url = RedisUrl::Parse(text, &error);
  EXPECT_TRUE(url.has_value()) << text << ": " << error;
  return url.value_or(RedisUrl{});
}

std::string Error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(RedisUrl::Parse(text, &error).has_value()) << text;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  return error;
}

TEST(RedisUrl, Default) {
  RedisUrl url = Parse(RedisUrl::kDefault);
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
  EXPECT_FALSE(url.is_unix());
  EXPECT_EQ(url.Endpoint(), "127.0.0.1:6379");
}

TEST(RedisUrl, HostPortDb) {
  RedisUrl url = Parse("redis://redis.internal:6380/3");
  EXPECT_EQ(url.host, "redis.internal");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 3);
  url = Parse("redis://localhost");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
  url = Parse("redis://localhost/");
  EXPECT_EQ(url.db, 0);
}

TEST(RedisUrl, Credentials) {
  RedisUrl url = Parse("redis://:s3cret@10.0.0.5:6379/1");
  EXPECT_EQ(url.user, "");
  EXPECT_EQ(url.password, "s3cret");
  EXPECT_EQ(url.host, "10.0.0.5");
  url = Parse("redis://warden:p%40ss%3Aword@host");
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.password, "p@ss:word");
  url = Parse("redis://host?password=x&db=2");
  EXPECT_EQ(url.password, "x");
  EXPECT_EQ(url.db, 2);
  EXPECT_EQ(url.Endpoint().find('x'), std::string::npos);
}

TEST(RedisUrl, Ipv6) {
  RedisUrl url = Parse("redis://[::1]:6380/0");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.Endpoint(), "[::1]:6380");
  EXPECT_NE(Error("redis://::1:6379").find("brackets"), std::string::npos);
}

TEST(RedisUrl, UnixSocket) {
  RedisUrl url = Parse("unix:///run/redis/redis.sock?db=2&password=x");
  EXPECT_TRUE(url.is_unix());
  EXPECT_EQ(url.socket_path, "/run/redis/redis.sock");
  EXPECT_EQ(url.db, 2);
  EXPECT_EQ(url.password, "x");
  EXPECT_EQ(url.Endpoint(), "/run/redis/redis.sock");
  EXPECT_EQ(Parse("unix:/run/redis.sock").socket_path, "/run/redis.sock");
}

TEST(RedisUrl, Rejects) {
  EXPECT_NE(Error("127.0.0.1:6379").find("expected redis://"), std::string::npos);
  EXPECT_NE(Error("http://host").find("expected redis://"), std::string::npos);
  EXPECT_NE(Error("rediss://host").find("TLS"), std::string::npos);
  EXPECT_NE(Error("redis://host:0").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://host:99999").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://host:abc").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://host:").find("empty port"), std::string::npos);
  EXPECT_NE(Error("redis://host/x").find("database number"), std::string::npos);
  EXPECT_NE(Error("redis://").find("no host"), std::string::npos);
  EXPECT_NE(Error("redis://user@host").find("password"), std::string::npos);
  EXPECT_NE(Error("redis://host?dbx=1").find("unknown query parameter"), std::string::npos);
  EXPECT_NE(Error("redis://host?db=x").find("db must be a number"), std::string::npos);
  EXPECT_NE(Error("unix://relative.sock").find("absolute path"), std::string::npos);
  EXPECT_NE(Error("redis://:%zz@host").find("percent"), std::string::npos);
}

TEST(RedisUrl, ErrorsNeverShowThePassword) {
  std::string error = Error("redis://warden:topsecret@h:99999/0");
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  EXPECT_NE(error.find("redis://warden:***@h:99999/0"), std::string::npos) << error;
  error = Error("redis://h/x?password=topsecret");
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  error = Error("unix:///run/r.sock?password=topsecret&dbx=1");
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  EXPECT_NE(error.find("\"dbx\""), std::string::npos) << error;
}

}  // namespace
}  // namespace warden
