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

class RedisSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() { redis_ = std::make_unique<RedisServer>(); }
  static void TearDownTestSuite() { redis_.reset(); }

 protected:
  void SetUp() override {
    if (!redis_->running()) redis_->Restart();
    redis_->Command({"FLUSHALL"});
  }

  static inline std::unique_ptr<RedisServer> redis_;
};

class MariaDbSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() { db_ = std::make_unique<MariaDbServer>(); }
  static void TearDownTestSuite() { db_.reset(); }

 protected:
  void SetUp() override {
    if (!db_->running()) db_->Restart();
    db_->ResetDatabase();
  }

  static inline std::unique_ptr<MariaDbServer> db_;
};

}  // namespace warden::test
