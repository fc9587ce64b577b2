// AsyncRedis through a SentinelLocator against real redis-servers and a real Sentinel, the
// event loop pumped by hand over every context the two attach (the module attaches them to
// nginx's loop instead): the primary is found past a dead Sentinel, and a primary demoted with
// REPLICAOF behind the connection's back, answering READONLY, is left for the new one.
#include <gtest/gtest.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "core/async_redis.h"
#include "core/sentinel_locator.h"
#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/redis_server.h"

namespace warden {
namespace {

using namespace std::chrono_literals;

// The contexts alive on the hand-pumped loop: hiredis's cleanup hook removes a freed one.
std::set<redisAsyncContext*>* live_contexts = nullptr;

void ForgetContext(void* privdata) {
  if (live_contexts) live_contexts->erase(static_cast<redisAsyncContext*>(privdata));
}

class SentinelLocatorTest : public ::testing::Test {
 protected:
  SentinelLocatorTest() { live_contexts = &contexts_; }
  ~SentinelLocatorTest() override {
    redis_.reset();
    locator_.reset();
    live_contexts = nullptr;
  }

  AsyncRedis::AttachFn Attach() {
    return [this](redisAsyncContext* ac) {
      contexts_.insert(ac);
      ac->ev.data = ac;
      ac->ev.cleanup = ForgetContext;
      return true;
    };
  }

  void Start(const std::vector<RedisNodeAddress>& sentinels, const std::string& password = "",
             Clock clock = SystemNowMs) {
    LogFn log = [this](LogLevel, const std::string& line) { log_.push_back(line); };
    locator_ = std::make_unique<SentinelLocator>(
        SentinelLocator::Settings{sentinels, "mymaster", "", password, 500}, clock, Attach(), log);
    RedisEndpoint endpoint;
    endpoint.password = password;
    endpoint.sentinels = sentinels;
    endpoint.master_name = "mymaster";
    endpoint.timeout_ms = 500;
    endpoint.locator = locator_.get();
    redis_ = std::make_unique<AsyncRedis>(endpoint, "test", clock, Attach(), log);
  }

  // One turn of an event loop over every live context.
  void Pump() {
    std::vector<redisAsyncContext*> now(contexts_.begin(), contexts_.end());
    std::vector<pollfd> fds;
    for (redisAsyncContext* ac : now) fds.push_back(pollfd{ac->c.fd, POLLIN | POLLOUT, 0});
    if (fds.empty() || poll(fds.data(), fds.size(), 10) <= 0) return;
    for (size_t i = 0; i < now.size(); ++i) {
      if (contexts_.count(now[i]) && (fds[i].revents & POLLOUT)) redisAsyncHandleWrite(now[i]);
      if (contexts_.count(now[i]) && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        redisAsyncHandleRead(now[i]);
      }
    }
  }
  template <class Done>
  bool PumpUntil(Done done, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      redis_->Tick();
      locator_->Tick();
      Pump();
    }
    return done();
  }
  // SET key value through the connection: its reply's text ("OK", "READONLY ...") or "".
  std::string Set(const std::string& key) {
    std::string answer;
    bool done = false;
    if (!PumpUntil([&] { return redis_->connected(); })) return "not connected";
    redis_->Send({"SET", key, "1"}, 500, [&](redisReply* r) {
      done = true;
      if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)) {
        answer.assign(r->str, r->len);
      }
    });
    PumpUntil([&] { return done; });
    return answer;
  }

  std::set<redisAsyncContext*> contexts_;
  std::vector<std::string> log_;
  std::unique_ptr<SentinelLocator> locator_;
  std::unique_ptr<AsyncRedis> redis_;
};

test::RedisServer::Options Watching(int port) {
  // One Sentinel that never fails over by itself: the tests move the primary by hand.
  test::RedisServer::Options options;
  options.sentinel = test::RedisServer::Sentinel{.master_port = port,
                                                 .master_name = "mymaster",
                                                 .quorum = 1,
                                                 .down_after_ms = 600000,
                                                 .failover_timeout_ms = 600000,
                                                 .auth_pass = ""};
  return options;
}

TEST_F(SentinelLocatorTest, FindsThePrimaryPastADeadSentinelAndChecksItsRole) {
  test::RedisServer primary;
  test::RedisServer sentinel(Watching(primary.port()));
  Start({{"127.0.0.1", test::FreePort()}, {"127.0.0.1", sentinel.port()}});
  EXPECT_EQ(Set("k1"), "OK");
  EXPECT_EQ(primary.Command({"GET", "k1"}).str, "1");
  ASSERT_TRUE(locator_->primary());
  EXPECT_EQ(locator_->primary()->port, primary.port());
}

TEST_F(SentinelLocatorTest, ASentinelWithoutThePrimarysPasswordIsAskedAnyway) {
  test::RedisServer::Options secured;
  secured.password = "s3cret";
  test::RedisServer primary(secured);
  test::RedisServer::Options watching = Watching(primary.port());
  watching.sentinel->auth_pass = "s3cret";
  test::RedisServer sentinel(watching);
  Start({{"127.0.0.1", sentinel.port()}}, "s3cret");
  EXPECT_EQ(Set("k1"), "OK");
  EXPECT_EQ(primary.Command({"GET", "k1"}).str, "1");
}

TEST_F(SentinelLocatorTest, ADemotedPrimaryAnsweringReadonlyIsLeftForTheNewOne) {
  test::RedisServer first;
  test::RedisServer::Options replica;
  replica.replica_of = first.port();
  test::RedisServer second(replica);
  test::RedisServer sentinel(Watching(first.port()));
  Start({{"127.0.0.1", sentinel.port()}});
  ASSERT_EQ(Set("before"), "OK");

  // `second` becomes the primary and `first` its replica, and the Sentinel is told; nothing
  // closes the connection to `first`, and no +switch-master is published.
  ASSERT_FALSE(second.Command({"REPLICAOF", "NO", "ONE"}).is_error());
  ASSERT_FALSE(first.Command({"REPLICAOF", "127.0.0.1", std::to_string(second.port())}).is_error());
  ASSERT_FALSE(sentinel.Command({"SENTINEL", "REMOVE", "mymaster"}).is_error());
  ASSERT_FALSE(sentinel
                   .Command({"SENTINEL", "MONITOR", "mymaster", "127.0.0.1",
                             std::to_string(second.port()), "1"})
                   .is_error());

  EXPECT_EQ(Set("during").substr(0, 8), "READONLY");
  // The connection left `first`, asked the Sentinel again and writes to `second`.
  EXPECT_TRUE(PumpUntil([&] { return Set("after") == "OK"; }));
  EXPECT_EQ(second.Command({"GET", "after"}).str, "1");
  ASSERT_TRUE(locator_->primary());
  EXPECT_EQ(locator_->primary()->port, second.port());
  bool logged = false;
  for (const std::string& line : log_)
    logged |= line.find("answered READONLY") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(SentinelLocatorTest, FollowsSwitchMasterFromTheSubscription) {
  test::RedisServer old_primary;
  test::RedisServer new_primary;
  // Stands in for a Sentinel that answers no query (a plain server has no SENTINEL command)
  // but delivers what is published on +switch-master, as a Sentinel does in a failover.
  test::RedisServer announcer;
  Start({{"127.0.0.1", announcer.port()}});
  EXPECT_FALSE(PumpUntil([&] { return redis_->connected(); }, 300ms));
  ASSERT_TRUE(PumpUntil([&] {
    return announcer.Command({"PUBSUB", "NUMSUB", "+switch-master"}).elements.at(1).integer == 1;
  }));
  announcer.Command({"PUBLISH", "+switch-master",
                     "othermaster 127.0.0.1 1 127.0.0.1 " + std::to_string(old_primary.port())});
  announcer.Command({"PUBLISH", "+switch-master",
                     "mymaster 127.0.0.1 " + std::to_string(old_primary.port()) + " 127.0.0.1 " +
                         std::to_string(new_primary.port())});
  EXPECT_EQ(Set("k"), "OK");
  EXPECT_EQ(new_primary.Command({"GET", "k"}).str, "1");
  EXPECT_TRUE(old_primary.Command({"GET", "k"}).is_nil());
}

// A failover's usual order: the primary dies, the connection drops and waits out a backoff
// step, then the Sentinels announce the promotion. The announcement moves the waiting
// connection at once, not when its backoff ends (which may be seconds after a few failed
// attempts on the dead primary). The clock stands still, so no backoff step ever ends here.
TEST_F(SentinelLocatorTest, SwitchMasterMovesAConnectionWaitingOutItsBackoff) {
  test::RedisServer old_primary;
  test::RedisServer new_primary;
  test::RedisServer announcer;  // delivers +switch-master, answers no query (as above)
  int64_t now_ms = 1000000;
  Start({{"127.0.0.1", announcer.port()}}, "", [&now_ms] { return now_ms; });
  ASSERT_TRUE(PumpUntil([&] {
    return announcer.Command({"PUBSUB", "NUMSUB", "+switch-master"}).elements.at(1).integer == 1;
  }));
  announcer.Command({"PUBLISH", "+switch-master",
                     "mymaster 127.0.0.1 1 127.0.0.1 " + std::to_string(old_primary.port())});
  ASSERT_EQ(Set("before"), "OK");
  ASSERT_EQ(old_primary.Command({"GET", "before"}).str, "1");

  old_primary.Kill();
  ASSERT_TRUE(PumpUntil([&] { return !redis_->connected(); }));
  PumpUntil([] { return false; }, 200ms);  // it stays down: its next attempt is not due
  ASSERT_FALSE(redis_->connected());

  announcer.Command({"PUBLISH", "+switch-master",
                     "mymaster 127.0.0.1 " + std::to_string(old_primary.port()) + " 127.0.0.1 " +
                         std::to_string(new_primary.port())});
  EXPECT_TRUE(PumpUntil([&] { return redis_->connected(); }, 5s))
      << "still waiting for the backoff meant for the old primary";
  EXPECT_EQ(Set("after"), "OK");
  EXPECT_EQ(new_primary.Command({"GET", "after"}).str, "1");
}

// A primary that syncs a replica at once (Redis 7 waits 5 s for more to share a diskless sync).
test::RedisServer::Options PrimaryOptions() {
  test::RedisServer::Options options;
  options.extra_args = {"--repl-diskless-sync-delay", "0"};
  return options;
}

// A replica of `primary`, in sync, listed in its ROLE answer (which may come a moment after the
// replica itself says its link is up).
std::unique_ptr<test::RedisServer> InSyncReplica(const test::RedisServer& primary) {
  test::RedisServer::Options options;
  options.replica_of = primary.port();
  auto replica = std::make_unique<test::RedisServer>(options);
  EXPECT_TRUE(test::PollUntil(
      [&] {
        test::RedisValue role = primary.Command({"ROLE"});
        if (role.elements.size() < 3) return false;
        for (const test::RedisValue& r : role.elements[2].elements) {
          if (r.elements.size() >= 2 && r.elements[1].str == std::to_string(replica->port())) {
            return true;
          }
        }
        return false;
      },
      20s));
  return replica;
}

int Subscribers(const test::RedisServer& announcer, const std::string& channel) {
  return static_cast<int>(announcer.Command({"PUBSUB", "NUMSUB", channel}).elements.at(1).integer);
}

bool Logged(const std::vector<std::string>& log, const std::string& text) {
  for (const std::string& line : log) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

// The leader of a failover sends the chosen replica REPLICAOF NO ONE and announces
// +switch-master only after its next INFO of it, ~0.8 s later. A Sentinel's +sdown of the
// primary in use makes the locator ask the primary's replicas ROLE, and move to the one that
// answers master. Here no +switch-master is ever published (nor can the announcer, a plain
// server, answer a query): only the early move can bring the connection back. The watch lasts
// 5 s after the last report; +odown, as a Sentinel sends it after +sdown, renews it just before
// the promotion.
TEST_F(SentinelLocatorTest, FollowsAPromotionBeforeSwitchMasterIsAnnounced) {
  test::RedisServer old_primary(PrimaryOptions());
  std::unique_ptr<test::RedisServer> replica = InSyncReplica(old_primary);
  test::RedisServer announcer;
  Start({{"127.0.0.1", announcer.port()}});
  ASSERT_TRUE(PumpUntil([&] { return Subscribers(announcer, "+sdown") == 1; }));
  ASSERT_EQ(Subscribers(announcer, "+failover-state-wait-promotion"), 1);
  const std::string old_port = std::to_string(old_primary.port());
  announcer.Command({"PUBLISH", "+switch-master", "mymaster 127.0.0.1 1 127.0.0.1 " + old_port});
  ASSERT_EQ(Set("before"), "OK");  // ROLE listed the replica

  old_primary.Kill();
  ASSERT_TRUE(PumpUntil([&] { return !redis_->connected(); }));
  // A replica's or another master's trouble is no reason to look.
  announcer.Command(
      {"PUBLISH", "+sdown",
       "slave 127.0.0.1:" + old_port + " 127.0.0.1 " + old_port + " @ othermaster 127.0.0.1 7000"});
  announcer.Command({"PUBLISH", "+sdown", "master othermaster 127.0.0.1 " + old_port});
  PumpUntil([] { return false; }, 200ms);
  EXPECT_FALSE(locator_->following());

  announcer.Command({"PUBLISH", "+sdown", "master mymaster 127.0.0.1 " + old_port});
  ASSERT_TRUE(PumpUntil([&] { return locator_->following(); }));
  // The replica is asked and still says slave: nothing moves.
  PumpUntil([] { return false; }, 300ms);
  EXPECT_FALSE(redis_->connected());
  EXPECT_EQ(locator_->primary()->port, old_primary.port());

  // What the leader's REPLICAOF NO ONE does.
  announcer.Command(
      {"PUBLISH", "+odown", "master mymaster 127.0.0.1 " + old_port + " #quorum 2/2"});
  ASSERT_FALSE(replica->Command({"REPLICAOF", "NO", "ONE"}).is_error());
  EXPECT_TRUE(PumpUntil([&] { return redis_->connected(); }))
      << "not moved to the promoted replica";
  EXPECT_EQ(locator_->primary()->port, replica->port());
  EXPECT_EQ(Set("after"), "OK");
  EXPECT_EQ(replica->Command({"GET", "after"}).str, "1");
  EXPECT_TRUE(Logged(log_, "not yet announced by +switch-master"));
  EXPECT_FALSE(locator_->following());
}

// Two replicas answer master (an operator's doing, or two failovers): the locator does not
// choose between them, until the failover's leader names the one it promotes.
TEST_F(SentinelLocatorTest, TwoMastersAreNotChosenBetweenUntilTheLeaderNamesOne) {
  test::RedisServer old_primary(PrimaryOptions());
  std::unique_ptr<test::RedisServer> first = InSyncReplica(old_primary);
  std::unique_ptr<test::RedisServer> second = InSyncReplica(old_primary);
  test::RedisServer announcer;
  Start({{"127.0.0.1", announcer.port()}});
  ASSERT_TRUE(PumpUntil([&] { return Subscribers(announcer, "+sdown") == 1; }));
  const std::string old_port = std::to_string(old_primary.port());
  announcer.Command({"PUBLISH", "+switch-master", "mymaster 127.0.0.1 1 127.0.0.1 " + old_port});
  ASSERT_EQ(Set("before"), "OK");  // ROLE listed both replicas

  old_primary.Kill();
  ASSERT_FALSE(first->Command({"REPLICAOF", "NO", "ONE"}).is_error());
  ASSERT_FALSE(second->Command({"REPLICAOF", "NO", "ONE"}).is_error());
  announcer.Command(
      {"PUBLISH", "+odown", "master mymaster 127.0.0.1 " + old_port + " #quorum 2/2"});
  ASSERT_TRUE(PumpUntil([&] { return locator_->following(); }));
  PumpUntil([] { return false; }, 300ms);
  EXPECT_FALSE(redis_->connected()) << "chose one of two masters";

  const std::string port = std::to_string(second->port());
  announcer.Command(
      {"PUBLISH", "+failover-state-wait-promotion",
       "slave 127.0.0.1:" + port + " 127.0.0.1 " + port + " @ mymaster 127.0.0.1 " + old_port});
  EXPECT_TRUE(PumpUntil([&] { return redis_->connected(); }));
  EXPECT_EQ(locator_->primary()->port, second->port());
}

// A real Sentinel's +sdown (down-after 300 ms; quorum 2 of a single Sentinel, so it never
// fails over by itself), and a replica the primary's ROLE did not list when the connection
// checked it: the locator asks the Sentinel (SENTINEL REPLICAS) for the candidates.
TEST_F(SentinelLocatorTest, AsksTheSentinelForReplicasTheConnectionDidNotSee) {
  test::RedisServer old_primary(PrimaryOptions());
  test::RedisServer::Options watching;
  watching.sentinel = test::RedisServer::Sentinel{.master_port = old_primary.port(),
                                                  .master_name = "mymaster",
                                                  .quorum = 2,
                                                  .down_after_ms = 300,
                                                  .failover_timeout_ms = 600000,
                                                  .auth_pass = ""};
  test::RedisServer sentinel(watching);
  Start({{"127.0.0.1", sentinel.port()}});
  ASSERT_EQ(Set("before"), "OK");  // ROLE: no replica yet

  std::unique_ptr<test::RedisServer> replica = InSyncReplica(old_primary);
  // The Sentinel learns replicas from the primary's INFO, every 10 s; a reset asks at once.
  // It would promote only a replica it is connected to ("disconnected" until then).
  ASSERT_FALSE(sentinel.Command({"SENTINEL", "RESET", "mymaster"}).is_error());
  ASSERT_TRUE(test::PollUntil(
      [&] {
        test::RedisValue list = sentinel.Command({"SENTINEL", "REPLICAS", "mymaster"});
        if (list.elements.size() != 1) return false;
        const std::vector<test::RedisValue>& fields = list.elements[0].elements;
        for (size_t i = 0; i + 1 < fields.size(); i += 2) {
          if (fields[i].str == "flags") return fields[i + 1].str == "slave";
        }
        return false;
      },
      20s));
  ASSERT_TRUE(PumpUntil([&] {
    return sentinel.Command({"CLIENT", "LIST"}).str.find("sub=4") != std::string::npos;
  }));

  old_primary.Kill();
  ASSERT_TRUE(PumpUntil([&] { return locator_->following(); }, 20s))
      << "no +sdown from the Sentinel";
  ASSERT_FALSE(replica->Command({"REPLICAOF", "NO", "ONE"}).is_error());
  EXPECT_TRUE(PumpUntil([&] { return redis_->connected(); }));
  EXPECT_EQ(locator_->primary()->port, replica->port());
  EXPECT_EQ(Set("after"), "OK");
}

}  // namespace
}  // namespace warden
