#pragma once

// Suite-scoped real servers: one server for all the tests of a suite (a mariadbd takes a
// second or more to start), started again when a test stopped or killed it, and emptied before
// each test. A fixture derives from one; a SetUp() of its own calls the base's first.
//
//   class DedupeTest : public test::MariaDbSuite { ... db_->Query(...) ... };

#include <gtest/gtest.h>

#include <memory>

#include "support/mariadb_server.h"
#include "support/redis_server.h"

namespace warden::test {

// Running (again, if a test stopped it) and empty.
inline void MakeReady(RedisServer& redis) {
  if (!redis.running()) redis.Restart();
  redis.Command({"FLUSHALL"});
}
inline void MakeReady(MariaDbServer& db) {
  if (!db.running()) db.Restart();
  db.ResetDatabase();
}

class RedisSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() { redis_ = std::make_unique<RedisServer>(); }
  static void TearDownTestSuite() { redis_.reset(); }

 protected:
  void SetUp() override { MakeReady(*redis_); }

  static inline std::unique_ptr<RedisServer> redis_;
};

class MariaDbSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() { db_ = std::make_unique<MariaDbServer>(); }
  static void TearDownTestSuite() { db_.reset(); }

 protected:
  void SetUp() override { MakeReady(*db_); }

  static inline std::unique_ptr<MariaDbServer> db_;
};

// Both, for the batch jobs that read MariaDB and write Redis (cache warming, job leases).
class MariaDbAndRedisSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    db_ = std::make_unique<MariaDbServer>();
    redis_ = std::make_unique<RedisServer>();
  }
  static void TearDownTestSuite() {
    db_.reset();
    redis_.reset();
  }

 protected:
  void SetUp() override {
    MakeReady(*db_);
    MakeReady(*redis_);
  }

  static inline std::unique_ptr<MariaDbServer> db_;
  static inline std::unique_ptr<RedisServer> redis_;
};

}  // namespace warden::test
