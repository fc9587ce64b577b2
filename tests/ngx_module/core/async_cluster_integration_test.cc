// AsyncCluster against a real 3-primary Redis Cluster on loopback (support/redis_cluster.h), its
// connections' event loop pumped by hand (the module attaches them to nginx's loop instead): the
// slot map read on the loop, each key on its slot's primary, a moved slot followed (MOVED), a
// slot being migrated followed (ASK), SCRIPT LOAD on every primary, a command across slots
// refused before anything is sent.
#include <gtest/gtest.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/cluster_slots.h"
#include "core/async_cluster.h"
#include "support/redis_cluster.h"

namespace warden {
namespace {

class AsyncClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new test::RedisCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  AsyncClusterTest() {
    RedisEndpoint endpoint;
    // One seed that is a primary, one that is no server at all: the map comes from the first
    // that answers.
    endpoint.cluster_seeds = {RedisNodeAddress{"127.0.0.1", 1},
                              RedisNodeAddress{"127.0.0.1", cluster_->node(0).port()}};
    endpoint.cluster_seed_names = {"127.0.0.1", "127.0.0.1"};
    endpoint.timeout_ms = 2000;
    redis_ = std::make_unique<AsyncCluster>(
        endpoint, "test", SystemNowMs,
        [](redisAsyncContext* ac) {
          contexts_.insert(ac);
          ac->ev.data = ac;
          // hiredis frees the context right after: forget it.
          ac->ev.cleanup = [](void* data) {
            contexts_.erase(static_cast<redisAsyncContext*>(data));
          };
          return true;
        },
        [this](LogLevel, const std::string& line) { log_.push_back(line); });
  }
  ~AsyncClusterTest() override {
    redis_.reset();
    contexts_.clear();
  }

  // One turn of an event loop over every live connection.
  void Pump() {
    std::vector<redisAsyncContext*> live(contexts_.begin(), contexts_.end());
    std::vector<pollfd> fds;
    for (redisAsyncContext* ac : live) fds.push_back(pollfd{ac->c.fd, POLLIN | POLLOUT, 0});
    if (fds.empty() || poll(fds.data(), fds.size(), 10) <= 0) return;
    for (size_t i = 0; i < live.size(); ++i) {
      if (!contexts_.count(live[i])) continue;
      if (fds[i].revents & POLLOUT) redisAsyncHandleWrite(live[i]);
      if (!contexts_.count(live[i])) continue;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) redisAsyncHandleRead(live[i]);
    }
  }
  template <class Done>
  bool PumpUntil(Done done, std::chrono::milliseconds within = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      redis_->Tick();
      Pump();
    }
    return done();
  }

  // Sends and pumps until the reply; the reply as text ("(nil)", "(null)" for a failure, an
  // error's own text).
  std::string Call(const std::vector<std::string>& args) {
    bool done = false;
    std::string out;
    bool sent = redis_->Send(args, 2000, [&](redisReply* r) {
      done = true;
      if (!r) {
        out = "(null)";
      } else if (r->type == REDIS_REPLY_NIL) {
        out = "(nil)";
      } else if (r->type == REDIS_REPLY_INTEGER) {
        out = std::to_string(r->integer);
      } else if (r->type == REDIS_REPLY_ARRAY) {
        out = "(array " + std::to_string(r->elements) + ")";
      } else {
        out.assign(r->str, r->len);
      }
    });
    if (!sent) return "(not sent)";
    EXPECT_TRUE(PumpUntil([&] { return done; })) << args[0];
    return out;
  }

  void Connect() {
    ASSERT_TRUE(PumpUntil([&] { return redis_->connected(); })) << Log();
  }
  std::string Log() const {
    std::string out;
    for (const std::string& line : log_) out += line + "\n";
    return out;
  }

  static test::RedisCluster* cluster_;
  static std::set<redisAsyncContext*> contexts_;
  std::vector<std::string> log_;
  std::unique_ptr<AsyncCluster> redis_;
};

test::RedisCluster* AsyncClusterTest::cluster_ = nullptr;
std::set<redisAsyncContext*> AsyncClusterTest::contexts_;

TEST_F(AsyncClusterTest, EachKeyGoesToItsSlotsPrimary) {
  Connect();
  ASSERT_NE(redis_->slots(), nullptr);
  EXPECT_TRUE(redis_->slots()->Complete());
  EXPECT_EQ(redis_->slots()->Primaries().size(), 3u);
  std::set<size_t> owners;
  for (int i = 0; i < 30; ++i) {
    std::string key = "spread:" + std::to_string(i);
    ASSERT_EQ(Call({"SET", key, "v" + std::to_string(i)}), "OK") << Log();
    size_t owner = cluster_->OwnerOf(ClusterKeySlot(key));
    owners.insert(owner);
    EXPECT_EQ(cluster_->node(owner).Command({"GET", key}).str, "v" + std::to_string(i));
    EXPECT_EQ(Call({"GET", key}), "v" + std::to_string(i));
  }
  EXPECT_EQ(owners.size(), 3u) << "30 keys over three primaries";
  // One connection per primary, named by its node; the seed that serves nothing let go.
  std::vector<std::string> names;
  redis_->ForEachConnection([&](const AsyncRedis& c) { names.push_back(c.purpose()); });
  PumpUntil([&] { return false; }, std::chrono::milliseconds(200));  // the seed is retired
  names.clear();
  redis_->ForEachConnection([&](const AsyncRedis& c) { names.push_back(c.purpose()); });
  EXPECT_EQ(names.size(), 3u);
  for (const std::string& name : names) {
    EXPECT_EQ(name.rfind("test on cluster node 127.0.0.1:", 0), 0u) << name;
  }
}

TEST_F(AsyncClusterTest, AMovedSlotIsFollowedAndTheMapRefreshed) {
  Connect();
  const std::string key = "moving:a";
  const int slot = ClusterKeySlot(key);
  ASSERT_EQ(Call({"SET", key, "1"}), "OK");
  size_t from = cluster_->OwnerOf(slot);
  size_t to = (from + 1) % 3;
  cluster_->MoveSlot(slot, to);
  ASSERT_TRUE(cluster_->WaitForOwner(slot, to, std::chrono::seconds(10)));
  // The client's map still names the old owner: MOVED, then the new one answers.
  EXPECT_EQ(Call({"INCR", key}), "2") << Log();
  EXPECT_GE(redis_->stats().moved, 1u);
  EXPECT_EQ(cluster_->node(to).Command({"GET", key}).str, "2");
  // The map is read again in the background, and then names the new owner.
  ASSERT_TRUE(PumpUntil([&] {
    const RedisNodeAddress* p = redis_->slots()->PrimaryFor(slot);
    return p && p->port == cluster_->node(to).port() && redis_->stats().refreshes >= 2;
  }));
  uint64_t moved = redis_->stats().moved;
  EXPECT_EQ(Call({"INCR", key}), "3");
  EXPECT_EQ(redis_->stats().moved, moved) << "no redirect once the map knows";
}

TEST_F(AsyncClusterTest, ASlotBeingMigratedIsFollowedWithAsk) {
  Connect();
  const std::string moved_key = "{mig}:moved";
  const std::string stays_key = "{mig}:stays";
  const int slot = ClusterKeySlot(moved_key);
  ASSERT_EQ(Call({"SET", moved_key, "10"}), "OK");
  ASSERT_EQ(Call({"SET", stays_key, "20"}), "OK");
  size_t from = cluster_->OwnerOf(slot);
  size_t to = (from + 1) % 3;
  cluster_->BeginMigration(slot, from, to);
  cluster_->MigrateKeys(slot, from, to, {moved_key});
  // Half-way: the key still on the old owner is answered there, the moved one through ASK.
  EXPECT_EQ(Call({"GET", stays_key}), "20");
  EXPECT_EQ(Call({"INCR", moved_key}), "11") << Log();
  EXPECT_GE(redis_->stats().asked, 1u);
  cluster_->MigrateKeys(slot, from, to);
  cluster_->FinishMigration(slot, from, to);
  ASSERT_TRUE(cluster_->WaitForOwner(slot, to, std::chrono::seconds(10)));
  EXPECT_EQ(cluster_->node(to).Command({"GET", moved_key}).str, "11") << "written there";
  EXPECT_EQ(Call({"INCR", stays_key}), "21") << Log();
}

TEST_F(AsyncClusterTest, ScriptsAreLoadedOnEveryPrimary) {
  Connect();
  const std::string script = "return 'cluster-test-" + std::to_string(getpid()) + "'";
  std::string sha = Call({"SCRIPT", "LOAD", script});
  ASSERT_EQ(sha.size(), 40u) << sha;
  // Give the other primaries' SCRIPT LOAD (sent in the same turn) time to be answered.
  ASSERT_TRUE(PumpUntil([&] {
    for (size_t i : cluster_->Primaries()) {
      if (cluster_->node(i).Command({"SCRIPT", "EXISTS", sha}).elements.at(0).integer != 1) {
        return false;
      }
    }
    return true;
  }));
  // EVALSHA with a key of any slot finds it.
  for (const char* key : {"a", "b", "c", "d"}) {
    EXPECT_EQ(Call({"EVALSHA", sha, "1", key}), "cluster-test-" + std::to_string(getpid()));
  }
}

TEST_F(AsyncClusterTest, KeysInSeveralSlotsAreRefusedBeforeAnythingIsSent) {
  Connect();
  EXPECT_EQ(Call({"MGET", "a", "b"}), "(not sent)");
  EXPECT_NE(Log().find("CROSSSLOT"), std::string::npos) << Log();
  EXPECT_EQ(Call({"MGET", "{t}a", "{t}b"}), "(array 2)");
}

}  // namespace
}  // namespace warden
