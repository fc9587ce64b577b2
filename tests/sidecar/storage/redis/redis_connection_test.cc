// RedisConnection against real redis-servers: TLS (a CA made here), ACL users and passwords,
// and a node that is not the primary. Every failure must be one line without the password.
#include "storage/redis/redis_connection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/errors.h"
#include "common/redis_deployment.h"
#include "support/poll_until.h"
#include "support/redis_server.h"
#include "support/test_certs.h"
#include "support/warden_cli.h"

namespace warden {
namespace {

using test::RedisServer;
using test::TestCerts;

constexpr const char* kSecret = "s3cret-Pa55";

RedisDeployment Deployment(const std::string& text) {
  std::string error;
  auto d = RedisDeployment::Parse(text, &error);
  EXPECT_TRUE(d.has_value()) << error;
  return d.value_or(RedisDeployment{});
}

// The message of the RedisConnectError that connecting to `text` throws ("" if it connects).
std::string ConnectError(const std::string& text) {
  try {
    RedisConnection::Connect(Deployment(text), 2000);
  } catch (const RedisConnectError& e) {
    return e.what();
  }
  return "";
}

void ExpectOneCleanLine(const std::string& message) {
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
}

class RedisTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TestCerts();
    redis_ = new RedisServer(RedisServer::Options{
        .password = kSecret,
        .tls = RedisServer::Tls{certs_->ca(), certs_->server_cert(), certs_->server_key()}});
  }
  static void TearDownTestSuite() {
    delete redis_;
    delete certs_;
  }

  // rediss://:PASSWORD@127.0.0.1:PORT/0?tls_ca=CA plus `more`.
  static std::string Url(const std::string& password, const std::string& ca,
                         const std::string& more = "") {
    return "rediss://:" + password + "@127.0.0.1:" + std::to_string(redis_->port()) +
           "/0?tls_ca=" + ca + more;
  }

  static TestCerts* certs_;
  static RedisServer* redis_;
};

TestCerts* RedisTlsTest::certs_ = nullptr;
RedisServer* RedisTlsTest::redis_ = nullptr;

TEST_F(RedisTlsTest, VerifiedConnectionWorks) {
  RedisConnection conn = RedisConnection::Connect(Deployment(Url(kSecret, certs_->ca())), 2000);
  conn.Command({"SET", "tls:key", "over tls"}).view().ThrowIfError();
  EXPECT_EQ(conn.Command({"GET", "tls:key"}).view().str(), "over tls");
  // A pipeline larger than one TLS record and one read.
  const std::string big(100000, 'x');
  for (int i = 0; i < 20; ++i) conn.Append({"SET", "tls:big" + std::to_string(i), big});
  for (int i = 0; i < 20; ++i) conn.GetReply("SET").view().ThrowIfError();
  EXPECT_EQ(conn.Command({"GET", "tls:big7"}).view().str().size(), big.size());
  EXPECT_TRUE(conn.healthy());
  EXPECT_EQ(conn.endpoint(), "127.0.0.1:" + std::to_string(redis_->port()));
}

TEST_F(RedisTlsTest, ServerNameIsChecked) {
  // localhost is in the certificate; another name is not.
  RedisConnection::Connect(Deployment(Url(kSecret, certs_->ca(), "&tls_server_name=localhost")),
                           2000);
  std::string error = ConnectError(Url(kSecret, certs_->ca(), "&tls_server_name=redis.example"));
  ExpectOneCleanLine(error);
  EXPECT_NE(error.find("certificate was not accepted"), std::string::npos) << error;
  EXPECT_NE(error.find("tls_server_name"), std::string::npos) << error;
}

TEST_F(RedisTlsTest, WrongCaFailsWithOneClearLine) {
  std::string error = ConnectError(Url(kSecret, certs_->other_ca()));
  ExpectOneCleanLine(error);
  EXPECT_NE(error.find("TLS with Redis at 127.0.0.1:"), std::string::npos) << error;
  EXPECT_NE(error.find("certificate was not accepted"), std::string::npos) << error;
  EXPECT_NE(error.find("check tls_ca"), std::string::npos) << error;
}

TEST_F(RedisTlsTest, DefaultTrustStoreRejectsTheTestCa) {
  // Verification is on without tls_ca too: the system's store does not know the test CA.
  std::string error = ConnectError("rediss://:" + std::string(kSecret) +
                                   "@127.0.0.1:" + std::to_string(redis_->port()) + "/0");
  ExpectOneCleanLine(error);
  EXPECT_NE(error.find("certificate was not accepted"), std::string::npos) << error;
}

TEST_F(RedisTlsTest, WrongPasswordFailsWithOneLineWithoutThePassword) {
  const std::string wrong = std::string(kSecret) + "-wrong";
  std::string error = ConnectError(Url(wrong, certs_->ca()));
  ExpectOneCleanLine(error);
  EXPECT_EQ(error.find(wrong), std::string::npos) << error;
  EXPECT_NE(error.find("refused the credentials"), std::string::npos) << error;
}

TEST_F(RedisTlsTest, PlainClientOnTlsPortFails) {
  std::string error = ConnectError("redis://:" + std::string(kSecret) + "@127.0.0.1:" +
                                   std::to_string(redis_->port()) + "/0?timeout=500");
  ExpectOneCleanLine(error);
}

TEST_F(RedisTlsTest, CliWorksOverTlsAndSaysWhyItCannot) {
  test::RunResult ok = test::RunWarden(
      {.args = {"ban", "192.0.2.44", "--ttl", "1h"}, .redis = Url(kSecret, certs_->ca())});
  ASSERT_EQ(ok.exit_code, 0) << test::Show(ok);
  EXPECT_EQ(redis_->Command({"HLEN", "warden:bl:entries"}).integer, 1);

  const std::string wrong = std::string(kSecret) + "-wrong";
  test::RunResult bad = test::RunWarden({.args = {"list"}, .redis = Url(wrong, certs_->ca())});
  EXPECT_EQ(bad.exit_code, 1) << test::Show(bad);
  EXPECT_EQ(bad.err.find(wrong), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find(kSecret), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;

  test::RunResult ca =
      test::RunWarden({.args = {"list"}, .redis = Url(kSecret, certs_->other_ca())});
  EXPECT_EQ(ca.exit_code, 1) << test::Show(ca);
  EXPECT_NE(ca.err.find("certificate was not accepted"), std::string::npos) << ca.err;
  EXPECT_EQ(std::count(ca.err.begin(), ca.err.end(), '\n'), 1) << ca.err;
}

TEST(RedisTlsClientCertTest, ServerThatWantsAClientCertificate) {
  TestCerts certs;
  RedisServer redis(RedisServer::Options{
      .tls = RedisServer::Tls{certs.ca(), certs.server_cert(), certs.server_key(), true}});
  const std::string base =
      "rediss://127.0.0.1:" + std::to_string(redis.port()) + "/0?tls_ca=" + certs.ca();
  RedisConnection conn = RedisConnection::Connect(
      Deployment(base + "&tls_cert=" + certs.client_cert() + "&tls_key=" + certs.client_key()),
      2000);
  EXPECT_EQ(conn.Command({"PING"}).view().str(), "PONG");

  // Without one, the server drops the handshake (TLS 1.3: at the first read).
  std::string error;
  try {
    RedisConnection bare = RedisConnection::Connect(Deployment(base), 2000);
    bare.Command({"PING"});
  } catch (const RedisError& e) {
    error = e.what();
  }
  ExpectOneCleanLine(error);
}

TEST(RedisAclTest, UserAndPasswordFromUrlOrOptions) {
  RedisServer redis;
  ASSERT_FALSE(redis
                   .Command({"ACL", "SETUSER", "warden", "on", std::string(">") + kSecret, "~*",
                             "&*", "+@all"})
                   .is_error());
  const std::string host = "127.0.0.1:" + std::to_string(redis.port());
  RedisConnection a = RedisConnection::Connect(
      Deployment("redis://warden:" + std::string(kSecret) + "@" + host + "/3"), 2000);
  EXPECT_EQ(a.Command({"ACL", "WHOAMI"}).view().str(), "warden");
  EXPECT_EQ(a.Command({"CLIENT", "INFO"}).view().str().find(" db=3 ") != std::string_view::npos,
            true);
  RedisConnection b = RedisConnection::Connect(
      Deployment(host + "?user=warden&password=" + std::string(kSecret)), 2000);
  EXPECT_EQ(b.Command({"ACL", "WHOAMI"}).view().str(), "warden");

  std::string error = ConnectError("redis://warden:" + std::string(kSecret) + "x@" + host);
  ExpectOneCleanLine(error);
  EXPECT_NE(error.find("refused the credentials (user warden)"), std::string::npos) << error;
  EXPECT_NE(error.find("WRONGPASS"), std::string::npos) << error;
}

TEST(RedisReadOnlyTest, ReplicaAnsweringReadOnlyBreaksTheConnection) {
  RedisServer primary;
  RedisServer replica(RedisServer::Options{.replica_of = primary.port()});
  RedisConnection conn =
      RedisConnection::Connect(Deployment("redis://" + replica.address() + "/0"), 2000);
  EXPECT_TRUE(conn.healthy());
  try {
    conn.Command({"SET", "k", "v"});
    ADD_FAILURE() << "a write on a replica did not throw";
  } catch (const RedisIoError& e) {
    EXPECT_NE(std::string(e.what()).find("is no longer the primary (READONLY)"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(conn.healthy());
  EXPECT_THROW(conn.Command({"PING"}), RedisIoError);
}

// cluster:// naming servers that are not a cluster (one without cluster support, one that is
// down): one line saying what each seed said. (A real cluster: cluster_client_test.cc.)
TEST(RedisDeploymentTest, ClusterSeedsThatAreNoClusterAreOneLine) {
  RedisServer plain;
  RedisServer down;
  down.Kill();
  std::string error = ConnectError("cluster://" + down.address() + "," + plain.address());
  EXPECT_NE(error.find("found no slot map of Redis Cluster"), std::string::npos) << error;
  EXPECT_NE(error.find("seed " + down.address() + ": "), std::string::npos) << error;
  EXPECT_NE(error.find("seed " + plain.address() + ": "), std::string::npos) << error;
  EXPECT_NE(error.find("cluster support disabled"), std::string::npos) << error;
  ExpectOneCleanLine(error);
}

}  // namespace
}  // namespace warden
