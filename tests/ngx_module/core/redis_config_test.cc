// warden_redis's arguments into a connection's settings: every form of address, the module's
// own prefix=, what the module refuses, and messages without secrets. Addresses only: no name
// is looked up here (the nginx integration tests resolve names).
#include "core/redis_config.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace warden {
namespace {

std::optional<RedisEndpoint> Read(const std::string& address, const std::vector<std::string>& args,
                                  std::string* error) {
  std::optional<RedisConfig> config = RedisConfig::Parse(address, error);
  if (!config) return std::nullopt;
  for (const std::string& arg : args) {
    if (!config->Option(arg, error)) return std::nullopt;
  }
  if (!config->Finish(error)) return std::nullopt;
  return config->endpoint();
}

TEST(RedisConfigTest, ASingleServerWithOptions) {
  std::string error;
  auto ep = Read("10.0.0.5:6380",
                 {"user=edge", "password=s3cret", "db=3", "prefix=w:", "timeout=250ms"}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->host, "10.0.0.5");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->user, "edge");
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->db, 3);
  EXPECT_EQ(ep->prefix, "w:");
  EXPECT_EQ(ep->timeout_ms, 250);
  EXPECT_TRUE(ep->sentinels.empty());

  ep = Read("redis://edge:s3cret@[::1]/2", {}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->user, "edge");
  EXPECT_EQ(ep->db, 2);
  EXPECT_EQ(ep->prefix, "warden:");
  EXPECT_EQ(ep->timeout_ms, 1000);

  ep = Read("unix:/run/redis.sock", {"password=p"}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->unix_path, "/run/redis.sock");
}

TEST(RedisConfigTest, Sentinels) {
  std::string error;
  auto ep = Read("sentinel://:s3cret@10.0.0.5,10.0.0.6:26380,[::1]/mymaster?db=1", {"timeout=2s"},
                 &error);
  ASSERT_TRUE(ep) << error;
  ASSERT_EQ(ep->sentinels.size(), 3u);
  EXPECT_EQ(ep->sentinels[0].ToString(), "10.0.0.5:26379");
  EXPECT_EQ(ep->sentinels[1].ToString(), "10.0.0.6:26380");
  EXPECT_EQ(ep->sentinels[2].ToString(), "[::1]:26379");
  EXPECT_EQ(ep->master_name, "mymaster");
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->db, 1);
  EXPECT_EQ(ep->timeout_ms, 2000);
  EXPECT_EQ(ep->Describe(), "sentinel mymaster via 10.0.0.5:26379,10.0.0.6:26380,[::1]:26379");
}

TEST(RedisConfigTest, SentinelsGetTheirOwnCredentialsOrElseTheDataNodes) {
  std::string error;
  auto ep = Read("sentinel://:s3cret@10.0.0.5/mymaster", {}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->sentinel_password, "s3cret");
  ep = Read("sentinel://:s3cret@10.0.0.5/mymaster",
            {"sentinel_user=sentry", "sentinel_password=Sentinel-Pw"}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_EQ(ep->sentinel_user, "sentry");
  EXPECT_EQ(ep->sentinel_password, "Sentinel-Pw");
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_FALSE(Read("10.0.0.5:6379", {"sentinel_password=Sentinel-Pw"}, &error));
  EXPECT_NE(error.find("for sentinel:// deployments"), std::string::npos) << error;
  EXPECT_EQ(error.find("Sentinel-Pw"), std::string::npos) << error;
}

TEST(RedisConfigTest, ClusterSeeds) {
  std::string error;
  auto ep = Read("cluster://edge:s3cret@10.0.0.5:7000,[::1]:7001", {"prefix=w:", "tls=on"}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_TRUE(ep->cluster());
  ASSERT_EQ(ep->cluster_seeds.size(), 2u);
  EXPECT_EQ(ep->cluster_seeds[0].ToString(), "10.0.0.5:7000");
  EXPECT_EQ(ep->cluster_seeds[1].ToString(), "[::1]:7001");
  EXPECT_EQ(ep->cluster_seed_names, (std::vector<std::string>{"10.0.0.5", "::1"}));
  EXPECT_EQ(ep->user, "edge");
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_TRUE(ep->tls.enabled());
  EXPECT_TRUE(ep->sentinels.empty());
  EXPECT_EQ(ep->Describe(), "cluster via 10.0.0.5:7000,[::1]:7001");
  // The cluster's key layout: hash tags.
  EXPECT_TRUE(ep->Schema().cluster());
  EXPECT_EQ(ep->Schema().BlacklistEntries(), "w:{bl}:entries");
  ep = Read("10.0.0.5:6380", {}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_FALSE(ep->cluster());
  EXPECT_FALSE(ep->Schema().cluster());
}

TEST(RedisConfigTest, TlsBuildsTheContextWhenTheConfigurationIsRead) {
  std::string error;
  // No tls_ca: the system's trust store.
  auto ep = Read("rediss://:s3cret@10.0.0.5:6380", {}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_TRUE(ep->tls.enabled());
  EXPECT_EQ(ep->host_name, "10.0.0.5");
  EXPECT_EQ(ep->tls.NameFor(ep->host_name), "10.0.0.5");

  ep = Read("10.0.0.5:6380", {"tls=on", "tls_server_name=redis.internal"}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_TRUE(ep->tls.enabled());
  EXPECT_EQ(ep->tls.NameFor(ep->host_name), "redis.internal");

  ep = Read("sentinel://10.0.0.5,10.0.0.6/mymaster?tls=on", {}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_TRUE(ep->tls.enabled());
  EXPECT_EQ(ep->sentinel_names, (std::vector<std::string>{"10.0.0.5", "10.0.0.6"}));

  ep = Read("10.0.0.5:6380", {}, &error);
  ASSERT_TRUE(ep) << error;
  EXPECT_FALSE(ep->tls.enabled());
}

TEST(RedisConfigTest, RefusalsSayWhyAndShowNoSecret) {
  struct Case {
    std::string address;
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"10.0.0.5", {"pasword=s3cret"}, "invalid parameter \"pasword\""},
      {"10.0.0.5", {"s3cret"}, "expected key=value"},  // (a password without its key)
      {"10.0.0.5", {"db=x"}, "db must be a database number"},
      {"10.0.0.5", {"user=edge"}, "an ACL user needs a password"},
      {"sentinel://:s3cret@10.0.0.5", {}, "needs the monitored master's name"},
      {"cluster://:s3cret@10.0.0.5:7000", {"db=2"}, "Redis Cluster has only database 0"},
      {"cluster://:s3cret@10.0.0.5:7000/1", {}, "Redis Cluster has only database 0"},
      {"cluster://:s3cret@10.0.0.5:7000", {"prefix=w{x}:"}, "'{' or '}' does not go with"},
      {"rediss://:s3cret@10.0.0.5?tls_ca=/nonexistent/ca.crt",
       {},
       "cannot read the CA file (tls_ca) /nonexistent/ca.crt"},
      {"10.0.0.5", {"password=s3cret", "tls=on", "tls_ca=/nonexistent/ca.crt"}, "No such file"},
      {"10.0.0.5", {"password=s3cret", "tls_ca=/etc/ssl/certs"}, "need tls=on"},
      {"10.0.0.5", {"password=s3cret", "tls=on", "tls_cert=/c.pem"}, "tls_cert and tls_key go"},
      {"10.0.0.5",
       {"password=s3cret", "tls=on", "tls_cert=/nonexistent/c.pem", "tls_key=/nonexistent/k.pem"},
       "cannot read the client certificate (tls_cert) /nonexistent/c.pem"},
      {"unix:/run/redis.sock", {"password=s3cret", "tls=on"}, "over a unix socket"},
      {"memcached://:s3cret@10.0.0.5", {}, "expected host[:port]"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_FALSE(Read(c.address, c.args, &error)) << c.address;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.address << ": " << error;
    EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace warden
