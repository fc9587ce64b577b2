#include "storage/mysql/mysql_url.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

MysqlUrl Parse(std::string_view text) {
  std::string error;
  auto url = MysqlUrl::Parse(text, &error);
  EXPECT_TRUE(url.has_value()) << text << ": " << error;
  return url.value_or(MysqlUrl{});
}

std::string Error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(MysqlUrl::Parse(text, &error).has_value()) << text;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  return error;
}

TEST(MysqlUrl, HostPortDatabase) {
  MysqlUrl url = Parse("mysql://warden:s3cret@db.internal:3307/warden");
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.password, "s3cret");
  EXPECT_EQ(url.host, "db.internal");
  EXPECT_EQ(url.port, 3307);
  EXPECT_EQ(url.database, "warden");
  EXPECT_FALSE(url.is_unix());
  EXPECT_EQ(url.Endpoint(), "db.internal:3307");
}

TEST(MysqlUrl, DefaultPortAndOptionalPassword) {
  MysqlUrl url = Parse("mysql://warden@127.0.0.1/warden");
  EXPECT_EQ(url.port, 3306);
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.password, "");
  url = Parse("mysql://127.0.0.1/warden");
  EXPECT_EQ(url.user, "");
  EXPECT_EQ(url.Endpoint(), "127.0.0.1:3306");
  url = Parse("mysql://warden:@localhost/w");
  EXPECT_EQ(url.password, "");
  EXPECT_EQ(url.host, "localhost");  // TCP to localhost, not the default socket
}

TEST(MysqlUrl, MariadbScheme) { EXPECT_EQ(Parse("mariadb://u:p@h/db").host, "h"); }

TEST(MysqlUrl, PercentDecoding) {
  MysqlUrl url = Parse("mysql://war%64en:p%40ss%3Aw%2Ford%25@h/my%2Ddb");
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.password, "p@ss:w/ord%");
  EXPECT_EQ(url.database, "my-db");
  // An unencoded '@' in the password: the last '@' ends the credentials.
  url = Parse("mysql://u:p@ss@h/db");
  EXPECT_EQ(url.password, "p@ss");
  EXPECT_EQ(url.host, "h");
}

TEST(MysqlUrl, Socket) {
  MysqlUrl url = Parse("mysql://warden:pw@/warden?socket=/run/mysqld/mysqld.sock");
  EXPECT_TRUE(url.is_unix());
  EXPECT_EQ(url.socket_path, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(url.host, "");
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.database, "warden");
  EXPECT_EQ(url.Endpoint(), "/run/mysqld/mysqld.sock");
  url = Parse("mysql://root@localhost/db?socket=%2Ftmp%2Fa%20b.sock");
  EXPECT_EQ(url.socket_path, "/tmp/a b.sock");
}

TEST(MysqlUrl, Ipv6) {
  MysqlUrl url = Parse("mysql://u:p@[::1]:3307/db");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 3307);
  EXPECT_EQ(url.Endpoint(), "[::1]:3307");
  EXPECT_EQ(Parse("mysql://u@[fe80::1]/db").port, 3306);
}

TEST(MysqlUrl, Errors) {
  EXPECT_NE(Error("redis://h/db").find("expected mysql://"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@h").find("no database"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@h/").find("no database"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@/db").find("no host"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@h:0/db").find("port must be a number from 1 to 65535"),
            std::string::npos);
  EXPECT_NE(Error("mysql://u:p@h:70000/db").find("port"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@h:x/db").find("\"x\""), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@h:/db").find("empty port"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@::1/db").find("brackets"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p@[::1/db").find("unterminated"), std::string::npos);
  EXPECT_NE(Error("mysql://u:p%zz@h/db").find("percent-encoding"), std::string::npos);
  EXPECT_NE(Error("mysql://:p@h/db").find("empty user"), std::string::npos);
  EXPECT_NE(Error("mysql://u@h/db?sock=/x").find("unknown query parameter \"sock\""),
            std::string::npos);
  EXPECT_NE(Error("mysql://u@/db?socket=relative.sock").find("absolute path"), std::string::npos);
  EXPECT_NE(Error("mysql://u@db.internal/db?socket=/x.sock").find("not both"), std::string::npos);
  EXPECT_NE(Error("mysql://u@:3306/db?socket=/x.sock").find("port"), std::string::npos);
  EXPECT_NE(Error("mysql://u@h/" + std::string(65, 'd')).find("1 to 64"), std::string::npos);
}

TEST(MysqlUrl, ErrorsNeverShowThePassword) {
  std::string error = Error("mysql://warden:topsecret@h:99999/db");
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  EXPECT_NE(error.find("mysql://warden:***@h:99999/db"), std::string::npos) << error;
  error = Error("mysql://warden:topsecret@h");
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
}

TEST(MysqlUrl, ErrorIsOptional) { EXPECT_FALSE(MysqlUrl::Parse("nope", nullptr).has_value()); }

}  // namespace
}  // namespace warden
