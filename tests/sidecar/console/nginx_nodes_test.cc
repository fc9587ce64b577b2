// The console's view of the nginx nodes' heartbeats (console/nginx_nodes.h): the rate-limit
// zones summed over the nodes, and how far and how fast each ban got. Plain JSON in, JSON out;
// reading them from Redis is covered by the console's integration test.
#include "console/nginx_nodes.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

nlohmann::json Node(const std::string& name, int64_t seq, nlohmann::json applied,
                    nlohmann::json limits, const std::string& state = "up") {
  return {{"node", name},
          {"role", "nginx"},
          {"state", state},
          {"clock_offset_ms", 0},
          {"blacklist", {{"seq", seq}}},
          {"applied", std::move(applied)},
          {"limits", std::move(limits)}};
}

TEST(NginxNodesTest, ZonesAreSummedOverTheNodesWithARowPerNode) {
  nlohmann::json nodes = nlohmann::json::array(
      {Node("a", 1, nlohmann::json::array(),
            {{{"zone", "api"}, {"mode", "sync=100ms"}, {"passed", 5}, {"rejected", 2}},
             {{"zone", "login"}, {"mode", "exact"}, {"passed", 1}, {"fail_open", 1}}}),
       Node("b", 1, nlohmann::json::array(),
            {{{"zone", "api"}, {"mode", "local"}, {"passed", 3}, {"delayed", 1}}}),
       {{"node", "not-ours"}, {"limits", "garbage"}}});
  nlohmann::json limits = NginxNodes::Limits(nodes);
  ASSERT_EQ(limits["zones"].size(), 2u) << limits.dump();
  const nlohmann::json& api = limits["zones"][0];
  EXPECT_EQ(api["zone"], "api");
  EXPECT_EQ(api["nodes"], 2);
  EXPECT_EQ(api["passed"], 8);
  EXPECT_EQ(api["rejected"], 2);
  EXPECT_EQ(api["delayed"], 1);
  EXPECT_EQ(api["dry_run"], 0);
  EXPECT_EQ(api["mode"], "mixed: local, sync=100ms");  // the nodes disagree: say so
  EXPECT_EQ(limits["zones"][1]["mode"], "exact");
  EXPECT_EQ(limits["zones"][1]["fail_open"], 1);
  ASSERT_EQ(limits["by_node"].size(), 3u);
  EXPECT_EQ(limits["by_node"][2]["node"], "b");
  EXPECT_EQ(limits["by_node"][2]["passed"], 3);
}

TEST(NginxNodesTest, ABanReachesTheNodesPastItsSequenceNumber) {
  NginxNodes::RecentBans recent;
  recent.by_entry["192.0.2.7"] = {10, 1000};
  recent.by_entry["192.0.2.8"] = {12, 2000};
  recent.oldest_seq = 8;
  nlohmann::json nodes = nlohmann::json::array(
      {Node("a", 12, {{10, 1040}, {12, 2005}}, nlohmann::json::array()),
       Node("b", 11, {{10, 1120}}, nlohmann::json::array()),
       Node("c", 12, nlohmann::json::array(), nlohmann::json::array()),  // loaded in full
       Node("gone", 0, nlohmann::json::array(), nlohmann::json::array(), "down")});
  nlohmann::json rows = {
      {{"entry", "192.0.2.7"}}, {{"entry", "192.0.2.8"}}, {{"entry", "10.0.0.0/8"}}};
  NginxNodes::MarkReach(rows, nodes, recent);
  EXPECT_EQ(rows[0]["seq"], 10);
  EXPECT_EQ(rows[0]["nodes_reached"], 3);
  EXPECT_EQ(rows[0]["nodes_of"], 3);  // the node that is down does not count
  EXPECT_EQ(rows[0]["nodes_timed"], 2);
  EXPECT_EQ(rows[0]["median_ms"], 40);
  EXPECT_EQ(rows[0]["slowest_ms"], 120);
  EXPECT_EQ(rows[1]["nodes_reached"], 2);  // b is at 11
  EXPECT_EQ(rows[1]["slowest_ms"], 5);
  // Older than the changes read: the nodes past them (seq >= 7) have it, untimed.
  EXPECT_TRUE(rows[2]["seq"].is_null());
  EXPECT_EQ(rows[2]["nodes_reached"], 3);
  EXPECT_TRUE(rows[2]["slowest_ms"].is_null());
}

}  // namespace
}  // namespace warden
