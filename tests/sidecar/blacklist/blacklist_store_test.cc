// BlacklistStore against a real redis-server: pipelining, script cache loss, purge.
#include "blacklist/blacklist_store.h"

#include <gtest/gtest.h>

#include "base/errors.h"
#include "support/redis_server.h"
#include "support/server_suite.h"

namespace warden {
namespace {

using test::RedisServer;

class BlacklistStoreTest : public test::RedisSuite {
 protected:
  RedisConnection Connect() {
    std::string error;
    return RedisConnection::Connect(*RedisDeployment::Parse(redis_->url(), &error), 2000);
  }

  static std::vector<BlacklistChange> Adds(int count, int64_t expires_ms = 0) {
    std::vector<BlacklistChange> changes;
    for (int i = 0; i < count; ++i) {
      BlacklistEntry e;
      e.cidr = *Cidr::Parse("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
      e.expires_ms = expires_ms;
      e.added_ms = 1;
      e.added_by = "test";
      changes.push_back(
          {BlacklistChange::Op::kAdd, e.cidr.ToString(), expires_ms, e.EncodeValue()});
    }
    return changes;
  }
};

TEST_F(BlacklistStoreTest, PipelinedBatches) {
  RedisConnection conn = Connect();
  BlacklistStore store(conn, RedisSchema("t:"));
  BlacklistStore::ApplyOptions options;
  options.batch_size = 7;  // many small batches, several in flight
  options.max_in_flight = 3;
  size_t last_progress = 0;
  options.progress = [&](size_t done) { last_progress = done; };
  auto result = store.Apply(Adds(1000), options);
  EXPECT_EQ(result.changed, 1000);
  EXPECT_EQ(result.seq, 1000);
  EXPECT_EQ(last_progress, 1000u);
  EXPECT_EQ(store.Count(), 1000);
  EXPECT_EQ(redis_->Command({"XLEN", "t:bl:log"}).integer, 1000);
}

TEST_F(BlacklistStoreTest, FallsBackToEvalWhenTheScriptCacheIsFlushed) {
  RedisConnection conn = Connect();
  BlacklistStore store(conn, RedisSchema("t:"));
  store.Apply(Adds(1));
  redis_->Command({"SCRIPT", "FLUSH"});
  BlacklistStore::ApplyOptions options;
  options.batch_size = 100;
  auto result = store.Apply(Adds(1000), options);  // every batch gets NOSCRIPT, then EVAL
  EXPECT_EQ(result.changed, 1000);
  EXPECT_EQ(store.Count(), 1000);
  redis_->Command({"SCRIPT", "FLUSH"});
  EXPECT_EQ(store.PurgeExpired(store.ServerNowMs(), 10), 0);
}

TEST_F(BlacklistStoreTest, PurgeDeletesAndStreams) {
  RedisConnection conn = Connect();
  BlacklistStore store(conn, RedisSchema("t:"));
  const int64_t now = store.ServerNowMs();
  store.Apply(Adds(5, now - 1));
  EXPECT_EQ(store.PurgeExpired(now, 3), 3);
  EXPECT_EQ(store.PurgeExpired(now, 3), 2);
  EXPECT_EQ(store.Count(), 0);
  EXPECT_EQ(redis_->Command({"XLEN", "t:bl:log"}).integer, 10);
}

TEST_F(BlacklistStoreTest, ReadLiveSkipsExpiredAndMalformed) {
  RedisConnection conn = Connect();
  BlacklistStore store(conn, RedisSchema("t:"));
  const int64_t now = store.ServerNowMs();
  auto changes = Adds(3);
  changes[1].expires_ms = now - 1;
  changes[1].value = "v1\t" + std::to_string(now - 1) + "\t1\tmanual\tx\t";
  store.Apply(changes);
  redis_->Command({"HSET", "t:bl:entries", "10.9.9.9", "v2\tfuture"});
  std::vector<std::string> warnings;
  auto live = store.ReadLive(now, [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].cidr.ToString(), "10.0.0.0");
  EXPECT_EQ(live[1].cidr.ToString(), "10.0.0.2");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("10.9.9.9"), std::string::npos);
}

TEST_F(BlacklistStoreTest, LostConnectionIsARedisIoError) {
  RedisConnection conn = Connect();
  BlacklistStore store(conn, RedisSchema("t:"));
  store.Apply(Adds(1));
  redis_->Kill();
  EXPECT_THROW(store.Apply(Adds(10)), RedisError);
  EXPECT_FALSE(conn.healthy());
  redis_->Restart();
}

TEST_F(BlacklistStoreTest, UnexpectedReplyTypesThrowInsteadOfCrashing) {
  RedisConnection conn = Connect();
  RedisReply reply = conn.Command({"SET", "k", "v"});
  EXPECT_THROW(reply.view().integer(), RedisReplyError);
  EXPECT_THROW(reply.view().size(), RedisReplyError);
  EXPECT_THROW(reply.view()[0], RedisReplyError);
  RedisReply error = conn.Command({"HGET", "k", "f"});
  EXPECT_TRUE(error.view().is_error());
  EXPECT_THROW(error.view().ThrowIfError(), RedisReplyError);
}

TEST_F(BlacklistStoreTest, EpochIs32Hex) {
  std::string epoch = BlacklistStore::NewEpoch();
  EXPECT_EQ(epoch.size(), 32u);
  EXPECT_EQ(epoch.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(epoch, BlacklistStore::NewEpoch());
}

}  // namespace
}  // namespace warden
