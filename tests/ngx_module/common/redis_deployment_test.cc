// Naming a Redis deployment: one server, Sentinel, Cluster, and the options they share.
#include "common/redis_deployment.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

using Kind = RedisDeployment::Kind;

RedisDeployment Parse(std::string_view text) {
  std::string error;
  std::optional<RedisDeployment> deployment = RedisDeployment::Parse(text, &error);
  EXPECT_TRUE(deployment.has_value()) << text << ": " << error;
  return deployment.value_or(RedisDeployment{});
}

std::string Error(std::string_view text) {
  std::string error;
  EXPECT_FALSE(RedisDeployment::Parse(text, &error).has_value()) << text;
  return error;
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(RedisDeployment, SingleServerAsNginxAndTheSidecarWriteIt) {
  RedisDeployment plain = Parse("127.0.0.1:6380");  // nginx's warden_redis form
  EXPECT_EQ(plain.kind, Kind::kSingle);
  ASSERT_EQ(plain.servers.size(), 1u);
  EXPECT_EQ(plain.servers[0], (RedisNodeAddress{"127.0.0.1", 6380}));
  EXPECT_EQ(Parse("redis-host").servers[0].port, 6379);

  RedisDeployment url = Parse("redis://warden:p%40ss@[::1]:7000/3?timeout=250");
  EXPECT_EQ(url.servers[0], (RedisNodeAddress{"::1", 7000}));
  EXPECT_EQ(url.user, "warden");
  EXPECT_EQ(url.password, "p@ss");
  EXPECT_EQ(url.db, 3);
  EXPECT_EQ(url.timeout_ms, 250);
  EXPECT_FALSE(url.tls.enabled);
  EXPECT_EQ(Parse("redis://:pw@h").password, "pw");
  EXPECT_TRUE(Parse("rediss://h").tls.enabled);

  RedisDeployment socket = Parse("unix:/run/redis.sock?db=2");
  EXPECT_EQ(socket.socket_path, "/run/redis.sock");
  EXPECT_TRUE(socket.servers.empty());
  EXPECT_EQ(socket.db, 2);
  EXPECT_EQ(Parse("unix:///run/redis.sock").socket_path, "/run/redis.sock");
}

TEST(RedisDeployment, SentinelSeedsMasterAndDb) {
  RedisDeployment sentinel =
      Parse("sentinel://app:pw@s1:26380,s2,[fd00::2]:26381/mymaster?db=4&tls=on");
  EXPECT_EQ(sentinel.kind, Kind::kSentinel);
  ASSERT_EQ(sentinel.servers.size(), 3u);
  EXPECT_EQ(sentinel.servers[0], (RedisNodeAddress{"s1", 26380}));
  EXPECT_EQ(sentinel.servers[1], (RedisNodeAddress{"s2", 26379}));  // Sentinel's default port
  EXPECT_EQ(sentinel.servers[2], (RedisNodeAddress{"fd00::2", 26381}));
  EXPECT_EQ(sentinel.master_name, "mymaster");
  EXPECT_EQ(sentinel.db, 4);
  EXPECT_EQ(sentinel.user, "app");
  EXPECT_EQ(sentinel.password, "pw");
  EXPECT_TRUE(sentinel.tls.enabled);
  EXPECT_EQ(sentinel.Describe(),
            "sentinel mymaster via s1:26380,s2:26379,[fd00::2]:26381 db 4 "
            "user app tls");

  EXPECT_TRUE(Contains(Error("sentinel://s1:26379"), "master's name"));
  EXPECT_TRUE(Contains(Error("sentinel://s1:26379/"), "master's name"));
  EXPECT_TRUE(Contains(Error("sentinel://s1:26379/a/b"), "master's name"));
}

// Sentinels with credentials of their own: what they are sent, and where the options belong.
TEST(RedisDeployment, SentinelCredentialsOfTheirOwn) {
  RedisDeployment shared = Parse("sentinel://app:pw@s1/m");
  RedisDeployment::Credentials c = shared.SentinelCredentials();
  EXPECT_EQ(c.user, "app");  // unset: the data nodes' own, tried without insisting
  EXPECT_EQ(c.password, "pw");
  EXPECT_FALSE(c.strict);

  RedisDeployment own =
      Parse("sentinel://app:pw@s1/m?sentinel_user=sentry&sentinel_password=Sentinel-Pw");
  c = own.SentinelCredentials();
  EXPECT_EQ(c.user, "sentry");
  EXPECT_EQ(c.password, "Sentinel-Pw");
  EXPECT_TRUE(c.strict);
  EXPECT_EQ(own.password, "pw");  // the data nodes keep theirs
  EXPECT_EQ(own.Describe(), "sentinel m via s1:26379 user app sentinel user sentry");
  EXPECT_FALSE(Contains(own.Describe(), "Sentinel-Pw"));

  // An empty sentinel_password: the Sentinels have none, so none is sent them.
  c = Parse("sentinel://:pw@s1/m?sentinel_password=").SentinelCredentials();
  EXPECT_TRUE(c.password.empty());
  EXPECT_TRUE(c.strict);

  EXPECT_TRUE(Contains(Error("redis://h?sentinel_password=x"), "for sentinel:// deployments"));
  EXPECT_TRUE(Contains(Error("cluster://a:7000?sentinel_user=u&sentinel_password=x"),
                       "for sentinel:// deployments"));
  EXPECT_TRUE(Contains(Error("sentinel://s1/m?sentinel_user=u"), "sentinel_password="));
  EXPECT_EQ(RedisDeployment::Redact("sentinel://s1/m?sentinel_password=Sentinel-Pw"),
            "sentinel://s1/m?sentinel_password=***");
}

TEST(RedisDeployment, ClusterSeedsAndOnlyDatabaseZero) {
  RedisDeployment cluster = Parse("cluster://n1:7000,[::1]:7001,n3?user=app&password=pw");
  EXPECT_EQ(cluster.kind, Kind::kCluster);
  ASSERT_EQ(cluster.servers.size(), 3u);
  EXPECT_EQ(cluster.servers[1], (RedisNodeAddress{"::1", 7001}));
  EXPECT_EQ(cluster.servers[2], (RedisNodeAddress{"n3", 6379}));
  EXPECT_EQ(cluster.user, "app");
  EXPECT_EQ(cluster.db, 0);
  EXPECT_EQ(Parse("cluster://n1:7000/0").db, 0);
  EXPECT_EQ(Parse("cluster://n1:7000?db=0").db, 0);

  EXPECT_TRUE(Contains(Error("cluster://n1:7000/2"), "only database 0"));
  EXPECT_TRUE(Contains(Error("cluster://n1:7000?db=1"), "only database 0, got db=1"));
  RedisDeployment later = Parse("cluster://n1");
  std::string why;
  ASSERT_TRUE(later.ApplyOption("db", "5", &why));
  EXPECT_FALSE(later.Check(&why));
  EXPECT_TRUE(Contains(why, "only database 0"));
}

TEST(RedisDeployment, TlsOptions) {
  RedisDeployment tls = Parse(
      "redis://h?tls=on&tls_ca=%2Fetc%2Fca.pem&tls_cert=/c.pem&tls_key=/k.pem&tls_server_name=r");
  EXPECT_TRUE(tls.tls.enabled);
  EXPECT_EQ(tls.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(tls.tls.cert_file, "/c.pem");
  EXPECT_EQ(tls.tls.key_file, "/k.pem");
  EXPECT_EQ(tls.tls.server_name, "r");

  EXPECT_TRUE(Contains(Error("redis://h?tls=on&tls_cert=/c.pem"), "go together"));
  EXPECT_TRUE(Contains(Error("redis://h?tls_ca=/ca.pem"), "need tls=on"));
  EXPECT_TRUE(Contains(Error("redis://h?tls=yes"), "on or off"));
  EXPECT_TRUE(Contains(Error("unix:/s.sock?tls=on"), "unix socket"));
}

TEST(RedisDeployment, NginxArgumentsGoThroughApplyOption) {
  RedisDeployment deployment = Parse("10.0.0.1:6379");
  std::string why;
  EXPECT_TRUE(deployment.ApplyOption("password", "pw", &why));
  EXPECT_TRUE(deployment.ApplyOption("timeout", "2s", &why));
  EXPECT_TRUE(deployment.ApplyOption("db", "1", &why));
  EXPECT_TRUE(deployment.Check(&why)) << why;
  EXPECT_EQ(deployment.timeout_ms, 2000);
  EXPECT_EQ(deployment.db, 1);
  EXPECT_FALSE(deployment.ApplyOption("timeout", "61s", &why));
  EXPECT_FALSE(deployment.ApplyOption("timeout", "0", &why));
  EXPECT_FALSE(deployment.ApplyOption("passwd", "secret", &why));
  EXPECT_TRUE(Contains(why, "\"passwd\""));
  EXPECT_FALSE(Contains(why, "secret"));
}

TEST(RedisDeployment, ErrorsNameTheProblem) {
  EXPECT_TRUE(Contains(Error("memcached://h"), "expected"));
  EXPECT_TRUE(Contains(Error("redis://a:1,b:2"), "sentinel:// or cluster://"));
  EXPECT_TRUE(Contains(Error("cluster://a:1,,b:2"), "host is missing"));
  EXPECT_TRUE(Contains(Error("cluster://a:1,"), "host is missing"));
  EXPECT_TRUE(Contains(Error("redis://"), "host is missing"));
  EXPECT_TRUE(Contains(Error("cluster://a:1,b:99999"), "1 to 65535, got \"99999\""));
  EXPECT_TRUE(Contains(Error("cluster://a:1,::1:7000"), "brackets"));
  EXPECT_TRUE(Contains(Error("redis://h/x"), "database number"));
  EXPECT_TRUE(Contains(Error("redis://user@h"), "need a password"));
  EXPECT_TRUE(Contains(Error("redis://h?user=app"), "ACL user needs a password"));
  EXPECT_TRUE(Contains(Error("redis://h?timeout=soon"), "timeout"));
  EXPECT_TRUE(Contains(Error("redis://h?bogus=1"), "unknown option \"bogus\""));
  EXPECT_TRUE(Contains(Error("unix://host/x.sock"), "absolute path"));
}

TEST(RedisDeployment, NoErrorShowsThePassword) {
  for (std::string_view text :
       {"sentinel://u:Hunter2@s1,s2:99999/m", "cluster://:Hunter2@a:1/7",
        "redis://h?password=Hunter2&bogus=1", "redis://h?password=Hunter2&db=x",
        "cluster://u:Hunter2@a,,b", "redis://:Hunter2@h?tls_ca=/x", "rediss://:Hunter2@[::1",
        "redis://:Hunter2@h/x"}) {
    std::string error = Error(text);
    EXPECT_FALSE(Contains(error, "Hunter2")) << error;
    EXPECT_TRUE(Contains(error, "***")) << error;
  }
  EXPECT_EQ(RedisDeployment::Redact("sentinel://u:pw@s1:26379,s2/m?db=1"),
            "sentinel://u:***@s1:26379,s2/m?db=***");
  EXPECT_EQ(RedisDeployment::Redact("cluster://a:7000,b:7001"), "cluster://a:7000,b:7001");
  EXPECT_FALSE(Contains(Parse("redis://u:Hunter2@h").Describe(), "Hunter2"));
}

}  // namespace
}  // namespace warden
