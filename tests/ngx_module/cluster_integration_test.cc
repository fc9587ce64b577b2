// The module with `warden_redis cluster://...` against a real 3-primary Redis Cluster on
// loopback (support/redis_cluster.h): bans made with the sidecar's CLI reach nginx; the exact
// limit holds across two nodes with many keys (one script call per slot); the interval limit
// converges; autoban bans; traffic counts land in Redis for `warden top`; warden_cache_serve
// serves a warmed value; slots migrated under traffic (ASK during, MOVED after) change no
// answer; and a primary killed and failed over to its replica is followed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/cluster_slots.h"
#include "common/redis_schema.h"
#include "support/http_client.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_cluster.h"
#include "support/test_certs.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

const RedisSchema kSchema("warden:", RedisSchema::Layout::kCluster);

std::string Client(int n) { return "127.0.0." + std::to_string(n); }
// The Redis key of an IPv4 client's bucket in zone `zone` ($binary_remote_addr).
std::string BucketKey(const std::string& zone, int n) {
  return kSchema.LimitBucket(zone, std::string("\x7f\x00\x00", 3) + static_cast<char>(n));
}

class ClusterIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new RedisCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // One worker per node: a probe that Redis answered proves the node's one connection is up.
  static NginxServer::Options Config(const std::string& http, const std::string& locations) {
    NginxServer::Options o;
    o.workers = 1;
    o.http = "warden_redis " + cluster_->url() + " timeout=500ms;\n" + http +
             "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n  warden on;\n" +
             "  location / { }\n" + locations +
             "  location = /warden/metrics { warden_status; }\n"
             "}\n";
    return o;
  }

  static HttpReply Get(const NginxServer& nginx, const std::string& path, int client) {
    return HttpGet("127.0.0.1", nginx.port(), path, {}, 5s, Client(client));
  }
  static bool Exists(const std::string& key) {
    return cluster_->CommandFor(key, {"EXISTS", key}).integer == 1;
  }
  // Until Redis decided a request of `client` on `nginx` (its bucket is in the cluster).
  static bool WaitUntilRedisDecides(const NginxServer& nginx, const std::string& path,
                                    const std::string& zone, int client) {
    return PollUntil(
        [&] {
          Get(nginx, path, client);
          return Exists(BucketKey(zone, client));
        },
        20s, 100ms);
  }

  // The value of a metric line that starts with `name`, or -1.
  static double Metric(const NginxServer& nginx, const std::string& name) {
    std::string page = nginx.Get("/warden/metrics").body;
    size_t at = page.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(page.substr(at + name.size() + 2));
  }

  static RedisCluster* cluster_;
};

RedisCluster* ClusterIntegrationTest::cluster_ = nullptr;

TEST_F(ClusterIntegrationTest, ABanMadeWithTheCliReachesEveryNode) {
  auto config = Config("", "");
  NginxServer a(config), b(config);
  RunResult ban =
      RunWarden({.args = {"ban", Client(5), "--reason", "cluster"}, .redis = cluster_->url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  EXPECT_EQ(cluster_
                ->CommandFor(kSchema.BlacklistEntries(),
                             {"HEXISTS", kSchema.BlacklistEntries(), Client(5)})
                .integer,
            1);
  for (NginxServer* node : {&a, &b}) {
    EXPECT_TRUE(PollUntil([&] { return Get(*node, "/", 5).status == 403; }, 20s))
        << node->ErrorLog();
    EXPECT_EQ(Get(*node, "/", 6).status, 200);
  }
  // Unbanned the same way.
  RunResult unban = RunWarden({.args = {"unban", Client(5)}, .redis = cluster_->url()});
  ASSERT_EQ(unban.exit_code, 0) << Show(unban);
  for (NginxServer* node : {&a, &b}) {
    EXPECT_TRUE(PollUntil([&] { return Get(*node, "/", 5).status == 200; }, 20s));
  }
  // No Redis trouble on the way (refused requests are logged, at error level, as nginx does).
  EXPECT_EQ(a.ErrorLog().find("redis"), a.ErrorLog().find("redis cluster: 3 primaries"))
      << a.ErrorLog();
  EXPECT_EQ(a.ErrorLog().find("CROSSSLOT"), std::string::npos) << a.ErrorLog();
}

// Eight clients at once over two nodes, each bucket on a slot of its own: every client gets
// exactly the first request plus the burst, as from one Redis.
TEST_F(ClusterIntegrationTest, ExactLimitHoldsAcrossTwoNodesWithManyKeys) {
  auto config =
      Config("warden_limit_zone $binary_remote_addr zone=ex:1m rate=1r/m sync=exact;\n",
             "  location /ex/ { warden_limit zone=ex burst=5 nodelay; alias @DIR@/html/; }\n");
  NginxServer a(config), b(config);
  ASSERT_TRUE(WaitUntilRedisDecides(a, "/ex/", "ex", 10)) << a.ErrorLog();
  ASSERT_TRUE(WaitUntilRedisDecides(b, "/ex/", "ex", 11)) << b.ErrorLog();
  std::vector<int> clients;
  for (int c = 20; c < 28; ++c) clients.push_back(c);
  std::set<size_t> owners;
  for (int c : clients) owners.insert(cluster_->OwnerOf(ClusterKeySlot(BucketKey("ex", c))));
  EXPECT_GE(owners.size(), 2u) << "the buckets spread over the primaries";

  const double local_before =
      Metric(a, "warden_limit_exact_local_total") + Metric(b, "warden_limit_exact_local_total");
  std::vector<std::atomic<int>> accepted(clients.size());
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients.size(); ++i) {
    for (int k = 0; k < 12; ++k) {
      threads.emplace_back([&, i, k] {
        int status = Get(k % 2 ? a : b, "/ex/", clients[i]).status;
        if (status == 200) {
          ++accepted[i];
        } else if (status != 429) {
          ++other;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  for (size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(accepted[i].load(), 6) << "client " << clients[i];
    EXPECT_TRUE(Exists(BucketKey("ex", clients[i])));
  }
  // Every one of them decided by Redis, none by a node alone.
  EXPECT_EQ(
      Metric(a, "warden_limit_exact_local_total") + Metric(b, "warden_limit_exact_local_total"),
      local_before);
}

// sync=100ms: a node that never saw a client learns the fleet's level of its bucket from Redis
// at its first push of it, and refuses from then on.
TEST_F(ClusterIntegrationTest, IntervalLimitConvergesAcrossNodes) {
  auto config =
      Config("warden_limit_zone $binary_remote_addr zone=iv:1m rate=1r/m sync=100ms;\n",
             "  location /iv/ { warden_limit zone=iv burst=5 nodelay; alias @DIR@/html/; }\n");
  NginxServer a(config), b(config);
  // Six clients spend their burst on a: one push of six buckets in (probably) six slots.
  for (int c = 40; c < 46; ++c) {
    for (int k = 0; k < 6; ++k) EXPECT_EQ(Get(a, "/iv/", c).status, 200) << c;
    EXPECT_EQ(Get(a, "/iv/", c).status, 429) << c;
  }
  for (int c = 40; c < 46; ++c) {
    ASSERT_TRUE(PollUntil([&] { return Exists(BucketKey("iv", c)); }, 20s)) << c << "\n"
                                                                            << a.ErrorLog();
  }
  // On b each of them gets little before b's first push of the bucket (every 100 ms) brings
  // the fleet's level: far from the six a node without sync gives.
  for (int c = 40; c < 46; ++c) {
    int passed = 0;
    ASSERT_TRUE(PollUntil(
        [&] {
          int status = Get(b, "/iv/", c).status;
          passed += status == 200;
          return status == 429;
        },
        20s, 150ms))
        << b.ErrorLog();
    EXPECT_LE(passed, 3) << c;
  }
}

TEST_F(ClusterIntegrationTest, AutobanBansThroughTheCluster) {
  auto config = Config(
      "warden_limit_zone $binary_remote_addr zone=ab:1m rate=1r/m;\n"
      "warden_autoban zone=ab strikes=2 findtime=1m bantime=1h;\n",
      "  location /ab/ { warden_limit zone=ab; alias @DIR@/html/; }\n");
  NginxServer a(config), b(config);
  EXPECT_EQ(Get(a, "/ab/", 50).status, 200);
  EXPECT_EQ(Get(a, "/ab/", 50).status, 429);
  EXPECT_EQ(Get(a, "/ab/", 50).status, 429);  // the second strike bans
  EXPECT_EQ(Get(a, "/ab/", 50).status, 403);
  // Written with the blacklist's keys (one slot), and followed by the other node.
  ASSERT_TRUE(PollUntil(
      [&] {
        return cluster_
                   ->CommandFor(kSchema.BlacklistEntries(),
                                {"HEXISTS", kSchema.BlacklistEntries(), Client(50)})
                   .integer == 1;
      },
      20s))
      << a.ErrorLog();
  EXPECT_TRUE(PollUntil([&] { return Get(b, "/", 50).status == 403; }, 20s)) << b.ErrorLog();
  RunResult list = RunWarden({.args = {"list", "--json"}, .redis = cluster_->url()});
  ASSERT_EQ(list.exit_code, 0) << Show(list);
  EXPECT_NE(list.out.find(Client(50)), std::string::npos) << list.out;
  RunWarden({.args = {"unban", Client(50)}, .redis = cluster_->url()});
}

TEST_F(ClusterIntegrationTest, TrafficCountsLandInTheClusterForWardenTop) {
  NginxServer::Options config = Config("", "");
  NginxServer a(config), b(config);
  for (int i = 0; i < 4; ++i) {
    Get(a, "/", 60);
    Get(b, "/", 60);
  }
  Get(a, "/", 61);
  nlohmann::json rows;
  ASSERT_TRUE(PollUntil(
      [&] {
        RunResult r = RunWarden({.args = {"top", "--json"}, .redis = cluster_->url()});
        if (r.exit_code != 0 || r.out.empty()) return false;
        rows = nlohmann::json::parse(r.out);
        for (const auto& row : rows) {
          if (row.value("address", "") == Client(60) && row.value("requests", 0) == 8) {
            return true;
          }
        }
        return false;
      },
      20s))
      << rows.dump() << "\n"
      << a.ErrorLog();
}

TEST_F(ClusterIntegrationTest, CacheServingReadsTheKeysSlot) {
  const std::string key = "warden:cache:cluster-books";
  const std::string body = "[{\"title\":\"cluster\"}]";
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  cluster_->CommandFor(
      key, {"HSET", key, "body", body, "etag", "\"c1\"", "computed_at", std::to_string(now_ms),
            "content_type", "application/json", "delta", "3", "rows", "1", "ttl", "300000"});
  NginxServer::Options config =
      Config("", "  location = /books { warden_cache_serve " + key +
                     "; proxy_pass http://unix:@DIR@/backend.sock:/backend; }\n");
  config.http +=
      "server {\n  listen unix:@DIR@/backend.sock;\n  access_log off;\n"
      "  location / { default_type application/json; add_header X-Backend yes;\n"
      "    return 200 'backend'; }\n}\n";
  NginxServer nginx(config);
  HttpReply reply;
  ASSERT_TRUE(PollUntil(
      [&] {
        reply = nginx.Get("/books");
        return reply.status == 200 && reply.body == body;
      },
      20s))
      << reply.status << " " << reply.body << "\n"
      << nginx.ErrorLog();
  EXPECT_EQ(reply.headers.count("x-backend"), 0u);
  EXPECT_EQ(reply.headers["etag"], "\"c1\"");
}

// The slot of a client's bucket migrates while the client sends: during the migration the
// bucket answers through ASK from its new node, after it through MOVED; the client still gets
// exactly the first request plus the burst. Then the blacklist's slot moves: a ban made after
// that still reaches the node.
TEST_F(ClusterIntegrationTest, SlotsMigratedUnderTrafficChangeNoAnswer) {
  auto config =
      Config("warden_limit_zone $binary_remote_addr zone=mv:1m rate=1r/m sync=exact;\n",
             "  location /mv/ { warden_limit zone=mv burst=5 nodelay; alias @DIR@/html/; }\n");
  NginxServer nginx(config);
  ASSERT_TRUE(WaitUntilRedisDecides(nginx, "/mv/", "mv", 70)) << nginx.ErrorLog();
  RunResult ban = RunWarden({.args = {"ban", Client(80)}, .redis = cluster_->url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  ASSERT_TRUE(PollUntil([&] { return Get(nginx, "/", 80).status == 403; }, 20s));

  // Redirects show on the metrics page (an operator sees a resharding happen).
  auto events = [&](const std::string& event) {
    return Metric(nginx, "warden_redis_cluster_events_total{event=\"" + event + "\"}");
  };
  EXPECT_GE(events("slot_map"), 1) << nginx.Get("/warden/metrics").body;
  const double moved_before = events("moved"), asked_before = events("ask");
  EXPECT_GE(moved_before, 0);

  const int client = 71;
  const std::string key = BucketKey("mv", client);
  const int slot = ClusterKeySlot(key);
  const size_t from = cluster_->OwnerOf(slot);
  const size_t to = (from + 1) % cluster_->size();
  int accepted = 0;
  for (int i = 0; i < 3; ++i) accepted += Get(nginx, "/mv/", client).status == 200;
  ASSERT_TRUE(Exists(key));
  cluster_->BeginMigration(slot, from, to);
  cluster_->MigrateKeys(slot, from, to, {key});
  for (int i = 0; i < 4; ++i) accepted += Get(nginx, "/mv/", client).status == 200;
  cluster_->MigrateKeys(slot, from, to);
  cluster_->FinishMigration(slot, from, to);
  ASSERT_TRUE(cluster_->WaitForOwner(slot, to, 10s));
  // Written through ASK on the importing node: the bucket there holds the six requests.
  EXPECT_GE(std::stoll(cluster_->node(to).Command({"GET", key}).str), 4900) << nginx.ErrorLog();
  for (int i = 0; i < 5; ++i) accepted += Get(nginx, "/mv/", client).status == 200;
  EXPECT_EQ(accepted, 6) << nginx.ErrorLog();

  // The blacklist's slot moves: the node's follower is sent on (MOVED) and a new ban arrives.
  const int bl_slot = ClusterKeySlot(kSchema.BlacklistEntries());
  const size_t bl_from = cluster_->OwnerOf(bl_slot);
  const size_t bl_to = (bl_from + 1) % cluster_->size();
  cluster_->MoveSlot(bl_slot, bl_to);
  ASSERT_TRUE(cluster_->WaitForOwner(bl_slot, bl_to, 10s));
  ban = RunWarden({.args = {"ban", Client(81)}, .redis = cluster_->url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  EXPECT_TRUE(PollUntil([&] { return Get(nginx, "/", 81).status == 403; }, 20s))
      << nginx.ErrorLog();
  EXPECT_EQ(Get(nginx, "/", 80).status, 403) << "the list from before the move is kept";
  EXPECT_GT(events("ask"), asked_before);
  EXPECT_GT(events("moved"), moved_before);
  // The exact limit goes on for fresh clients.
  int fresh = 0;
  for (int i = 0; i < 8; ++i) fresh += Get(nginx, "/mv/", 72).status == 200;
  EXPECT_EQ(fresh, 6);
  RunWarden({.args = {"unban", Client(80)}, .redis = cluster_->url()});
  RunWarden({.args = {"unban", Client(81)}, .redis = cluster_->url()});
}

// A cluster with a replica per primary: the primary of the blacklist's slot is killed, its
// replica promoted by the cluster; the node finds the new map (its commands to the dead primary
// fail, which has it read the map again), a ban made after the failover reaches it, the list
// from before is kept, and the exact limit is decided by Redis again.
// A cluster whose nodes speak TLS only (clients, bus and replication: tls-cluster yes): the CLI
// bans through it, two nginx nodes enforce the ban and share an exact limit through it (a key's
// requests counted on one node are refused on the other), with the CA checked.
TEST(ClusterTlsIntegrationTest, BansAndAnExactLimitGoThroughATlsCluster) {
  TestCerts certs;
  RedisCluster cluster(
      {.tls = RedisServer::Tls{certs.ca(), certs.server_cert(), certs.server_key()}});
  NginxServer::Options o;
  o.workers = 1;
  o.http = "warden_redis " + cluster.url() + " timeout=500ms;\n" +
           "warden_limit_zone $http_x_key zone=ex:1m rate=1r/m sync=exact;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n  warden on;\n"
           "  location / { }\n"
           "  location /ex/ { warden_limit zone=ex burst=2 nodelay; alias @DIR@/html/; }\n"
           "  location = /warden/metrics { warden_status; }\n"
           "}\n";
  NginxServer a(o), b(o);
  auto get = [](const NginxServer& n, const std::string& path, int client) {
    return HttpGet("127.0.0.1", n.port(), path, {}, 5s, Client(client)).status;
  };
  auto limited = [](const NginxServer& n, const std::string& key) {
    return HttpGet("127.0.0.1", n.port(), "/ex/", {{"X-Key", key}}, 5s).status;
  };
  auto decided_here = [](const NginxServer& n) {
    std::string page = n.Get("/warden/metrics").body;
    const std::string name = "\nwarden_limit_exact_local_total ";
    size_t at = page.find(name);
    return at == std::string::npos ? -1.0 : std::stod(page.substr(at + name.size()));
  };

  RunResult ban = RunWarden({.args = {"ban", Client(5)}, .redis = cluster.url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  for (NginxServer* node : {&a, &b}) {
    EXPECT_TRUE(PollUntil([&] { return get(*node, "/", 5) == 403; }, 20s)) << node->ErrorLog();
    EXPECT_EQ(get(*node, "/", 6), 200);
  }
  RunResult list = RunWarden({.args = {"list"}, .redis = cluster.url()});
  EXPECT_NE(list.out.find(Client(5)), std::string::npos) << Show(list);

  // Keys with the hash tag {t} share a slot: once a request of a warm-up key is decided by
  // Redis on a node (not counted as decided here), that node's connection to the slot's primary
  // is up for the key under test too.
  for (NginxServer* node : {&a, &b}) {
    const std::string warm = "{t}warm-" + std::to_string(node->port());
    EXPECT_TRUE(PollUntil(
        [&] {
          const double before = decided_here(*node);
          limited(*node, warm);
          return decided_here(*node) == before;
        },
        20s, 100ms))
        << node->ErrorLog();
  }
  EXPECT_EQ(limited(a, "{t}x"), 200);
  EXPECT_EQ(limited(a, "{t}x"), 200);
  EXPECT_EQ(limited(a, "{t}x"), 200);
  EXPECT_EQ(limited(a, "{t}x"), 429);
  EXPECT_EQ(limited(b, "{t}x"), 429) << "node b did not see a's requests: not decided by Redis";
  for (NginxServer* node : {&a, &b}) {
    EXPECT_EQ(node->ErrorLog().find("TLS"), std::string::npos) << node->ErrorLog();
  }

  // The wrong CA: one line that says what to check.
  std::string wrong = cluster.url();
  wrong.replace(wrong.find(certs.ca()), certs.ca().size(), certs.other_ca());
  RunResult refused = RunWarden({.args = {"list"}, .redis = wrong});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("check tls_ca"), std::string::npos) << Show(refused);
}

TEST(ClusterFailoverIntegrationTest, AKilledPrimaryIsFailedOverAndTheNodeFollows) {
  RedisCluster::Options options;
  options.replicas = 1;
  RedisCluster cluster(options);
  NginxServer::Options config;
  config.workers = 1;
  config.http = "warden_redis " + cluster.url() + " timeout=300ms;\n" +
                "warden_limit_zone $binary_remote_addr zone=fo:1m rate=1r/m sync=exact;\n"
                "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n  warden on;\n"
                "  location / { }\n"
                "  location /fo/ { warden_limit zone=fo burst=5 nodelay; alias @DIR@/html/; }\n"
                "  location = /warden/metrics { warden_status; }\n"
                "}\n";
  NginxServer nginx(config);
  auto slot_maps = [&] {
    const std::string page = nginx.Get("/warden/metrics").body;
    const std::string line = "\nwarden_redis_cluster_events_total{event=\"slot_map\"} ";
    const size_t at = page.find(line);
    return at == std::string::npos ? -1 : std::stoll(page.substr(at + line.size()));
  };
  auto get = [&](const std::string& path, int client) {
    return HttpGet("127.0.0.1", nginx.port(), path, {}, 5s, Client(client)).status;
  };
  RunResult ban = RunWarden({.args = {"ban", Client(90)}, .redis = cluster.url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  ASSERT_TRUE(PollUntil([&] { return get("/", 90) == 403; }, 20s)) << nginx.ErrorLog();

  const int slot = ClusterKeySlot(kSchema.BlacklistEntries());
  const size_t old_primary = cluster.OwnerOf(slot);
  const long long maps_before = slot_maps();
  EXPECT_GE(maps_before, 1);
  cluster.node(old_primary).Kill();
  ASSERT_TRUE(PollUntil(
      [&] {
        try {
          return cluster.OwnerOf(slot) != old_primary && cluster.WaitForState("ok", 100ms);
        } catch (const std::exception&) {
          return false;
        }
      },
      60s, 200ms));

  ban = RunWarden({.args = {"ban", Client(91)}, .redis = cluster.url()});
  ASSERT_EQ(ban.exit_code, 0) << Show(ban);
  EXPECT_TRUE(PollUntil([&] { return get("/", 91) == 403; }, 30s)) << nginx.ErrorLog();
  EXPECT_EQ(get("/", 90), 403) << "the list from before the failover is kept";
  EXPECT_EQ(get("/", 92), 200);
  // The failover shows on the metrics page: the node read the slot map again.
  EXPECT_GT(slot_maps(), maps_before);
  // The exact limit is Redis's again: a fresh client gets exactly the burst, and its bucket is
  // in the cluster.
  int client = 100;
  EXPECT_TRUE(PollUntil(
      [&] {
        ++client;
        int accepted = 0;
        for (int i = 0; i < 8; ++i) accepted += get("/fo/", client) == 200;
        const std::string key = BucketKey("fo", client);
        return accepted == 6 && cluster.CommandFor(key, {"EXISTS", key}).integer == 1;
      },
      30s, 200ms))
      << nginx.ErrorLog();
}

TEST_F(ClusterIntegrationTest, BadClusterAddressesFailConfigTest) {
  struct Case {
    std::string redis;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"cluster://127.0.0.1:7000/1", "Redis Cluster has only database 0"},
           {"cluster://127.0.0.1:7000 db=2", "Redis Cluster has only database 0"},
           {"cluster://127.0.0.1:7000 \"prefix=w{x}:\"", "'{' or '}' does not go with"},
           {"cluster://", "a host is missing"},
       }) {
    NginxServer::Options o;
    o.http = "warden_redis " + c.redis + ";\nserver { listen 127.0.0.1:@PORT@; }\n";
    RunResult r = NginxServer::Test(o);
    EXPECT_NE(r.exit_code, 0) << c.redis;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.redis << ": " << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << "the line: " << r.err;
  }
}

}  // namespace
}  // namespace warden::test
