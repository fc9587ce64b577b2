// The daemon's +switch-master subscription (storage/redis/sentinel_watch.h) against a real
// primary, replica and three Sentinels (tests/support/sentinel_topology.h).
#include "storage/redis/sentinel_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "common/redis_deployment.h"
#include "support/poll_until.h"
#include "support/sentinel_topology.h"

namespace warden {
namespace {

using namespace std::chrono_literals;
using test::PollUntil;
using test::SentinelTopology;

// Whether Sentinel `i` has a client in subscribe mode (the watch).
bool HasSubscriber(SentinelTopology& topo, size_t i) {
  return topo.sentinel(i).Command({"CLIENT", "LIST"}).str.find("cmd=subscribe") !=
         std::string::npos;
}

// The Sentinel the watch follows stops answering (SIGSTOP: its connections stay open, as with
// a host that died or a partition), and the failover that follows is announced only by the
// two others. The watch notices the silence (an unanswered PING), subscribes on another
// Sentinel, and since it may have missed an announcement meanwhile, asks where the primary is:
// the switch reaches it. (Without the PING it waits on the stopped Sentinel for good; without
// the question it never hears of this failover.)
TEST(SentinelWatchTest, ASilentSentinelIsLeftAndAMissedSwitchIsFound) {
  SentinelTopology topo;
  std::string error;
  auto deployment = RedisDeployment::Parse(topo.url(), &error);
  ASSERT_TRUE(deployment) << error;
  std::mutex mutex;
  std::vector<std::string> switches, problems;
  SentinelWatch watch(
      *deployment, 500,
      [&](const RedisNodeAddress& primary, const RedisNodeAddress&) {
        std::lock_guard<std::mutex> lock(mutex);
        switches.push_back(primary.ToString());
      },
      [&](const std::string& line) {
        std::lock_guard<std::mutex> lock(mutex);
        problems.push_back(line);
      });
  ASSERT_TRUE(PollUntil([&] { return watch.subscribed() && HasSubscriber(topo, 0); }, 10s));

  topo.sentinel(0).Pause();
  ASSERT_EQ(topo.sentinel(1).Command({"SENTINEL", "FAILOVER", SentinelTopology::kMaster}).str,
            "OK");
  EXPECT_TRUE(PollUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        for (const std::string& s : switches) {
          if (s == topo.replica().address()) return true;
        }
        return false;
      },
      30s))
      << "no switch to " << topo.replica().address();
  EXPECT_TRUE(HasSubscriber(topo, 1) || HasSubscriber(topo, 2));
  {
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_FALSE(problems.empty());
    EXPECT_NE(problems.front().find("did not answer PING"), std::string::npos) << problems.front();
  }
  topo.sentinel(0).Resume();
}

}  // namespace
}  // namespace warden
