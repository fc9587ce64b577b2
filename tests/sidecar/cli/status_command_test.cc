// `warden status` against a real redis-server, a fake nginx metrics page, and a Sentinel
// deployment through a kill -9 failover.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/redis_server.h"
#include "support/sentinel_topology.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

// An nginx node's warden_status page, as far as `warden status` reads it.
class FakeMetrics {
 public:
  explicit FakeMetrics(std::string page) : page_(std::move(page)) {
    server_.Get("/warden/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(page_, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    PollUntil([this] { return server_.is_running(); }, 5s);
  }
  ~FakeMetrics() {
    server_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/warden/metrics";
  }

 private:
  std::string page_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(StatusCommandTest, SingleRedisWithNodes) {
  RedisServer redis;
  ASSERT_EQ(RunWarden({.args = {"ban", "192.0.2.10"}, .redis = redis.url()}).exit_code, 0);
  ASSERT_EQ(RunWarden({.args = {"ban", "192.0.2.11"}, .redis = redis.url()}).exit_code, 0);
  FakeMetrics node(
      "# TYPE warden_blacklist_change_seq gauge\nwarden_blacklist_change_seq 1\n"
      "warden_blacklist_sync_lag_seconds 0.25\n");
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort()) + "/warden/metrics";

  RunResult text =
      RunWarden({.args = {"status", "--node", node.url(), "--node", dead}, .redis = redis.url()});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  EXPECT_NE(text.out.find("primary:        " + redis.address() + " (found direct)"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("blacklist:      seq 2, 2 entries"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("last failover:  n/a"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(": seq 1 (1 behind), sync lag 0.25 s"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("node " + dead + ": unreachable"), std::string::npos) << text.out;

  RunResult json =
      RunWarden({.args = {"status", "--json", "--node", node.url()}, .redis = redis.url()});
  ASSERT_EQ(json.exit_code, 0) << Show(json);
  nlohmann::json j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["redis"]["primary"], redis.address());
  EXPECT_EQ(j["redis"]["found_via"], "direct");
  EXPECT_EQ(j["redis"]["replicas"].size(), 0u);
  EXPECT_TRUE(j["last_failover"].is_null());
  EXPECT_EQ(j["blacklist"]["seq"], 2);
  EXPECT_EQ(j["blacklist"]["entries"], 2);
  EXPECT_TRUE(j["blacklist"]["epoch"].is_string());
  EXPECT_EQ(j["nodes"][0]["behind"], 1);
  EXPECT_EQ(j["nodes"][0]["sync_lag_seconds"], 0.25);

  // Redis down: one line, exit 1.
  redis.Kill();
  RunResult down = RunWarden({.args = {"status"}, .redis = redis.url()});
  EXPECT_EQ(down.exit_code, 1) << Show(down);
}

TEST(StatusCommandTest, SentinelShowsThePrimaryAndTheFailover) {
  SentinelTopology topo;
  // The replica as the primary's ROLE lists it (it may be between two syncs for a moment).
  RunResult before;
  nlohmann::json b;
  EXPECT_TRUE(PollUntil(
      [&] {
        before = RunWarden({.args = {"status", "--json"}, .redis = topo.url()});
        if (before.exit_code != 0) return false;
        b = nlohmann::json::parse(before.out);
        return b["redis"]["replicas"].size() == 1;
      },
      10s, 100ms))
      << Show(before);
  ASSERT_EQ(before.exit_code, 0) << Show(before);
  EXPECT_EQ(b["redis"]["primary"], topo.primary().address());
  EXPECT_EQ(b["redis"]["found_via"], "sentinel " + topo.sentinel(0).address());
  ASSERT_EQ(b["redis"]["replicas"].size(), 1u);
  EXPECT_EQ(b["redis"]["replicas"][0]["address"], topo.replica().address());
  EXPECT_TRUE(b["last_failover"].is_null());

  const std::string old_primary = topo.primary().address();
  topo.KillPrimary();
  ASSERT_TRUE(topo.WaitForPrimary(topo.replica().address(), 30s));
  RunResult after;
  ASSERT_TRUE(PollUntil(
      [&] {
        after = RunWarden({.args = {"status", "--json"}, .redis = topo.url()}, std::nullopt, 10s);
        return after.exit_code == 0;
      },
      30s, 200ms))
      << Show(after);
  nlohmann::json a = nlohmann::json::parse(after.out);
  EXPECT_EQ(a["redis"]["primary"], topo.replica().address());
  ASSERT_TRUE(a["last_failover"].is_object()) << after.out;
  EXPECT_EQ(a["last_failover"]["from"], old_primary);
  EXPECT_EQ(a["last_failover"]["to"], topo.replica().address());

  RunResult text = RunWarden({.args = {"status"}, .redis = topo.url()});
  EXPECT_NE(text.out.find("last failover:  " + old_primary + " -> " + topo.replica().address()),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("(found via sentinel "), std::string::npos) << text.out;
}

}  // namespace
}  // namespace warden::test
