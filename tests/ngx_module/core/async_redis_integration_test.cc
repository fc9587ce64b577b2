// AsyncRedis against a real redis-server on a unix socket, its event loop pumped by hand (the
// module attaches the connection to nginx's loop instead): an exception thrown by a reply
// callback (an allocation that fails) must not unwind into hiredis, and the connection goes on.
#include <gtest/gtest.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>

#include <chrono>
#include <new>
#include <string>
#include <vector>

#include "common/clock.h"
#include "core/async_redis.h"
#include "support/redis_server.h"

namespace warden {
namespace {

class AsyncRedisTest : public ::testing::Test {
 protected:
  AsyncRedisTest() {
    RedisEndpoint endpoint;
    endpoint.unix_path = server_.socket_path();
    redis_ = std::make_unique<AsyncRedis>(
        endpoint, "test", SystemNowMs,
        [this](redisAsyncContext* ac) {
          ac_ = ac;
          return true;
        },
        [this](LogLevel, const std::string& line) { log_.push_back(line); });
  }

  // One turn of an event loop: hiredis reads and writes what its socket is ready for.
  void Pump(int timeout_ms = 20) {
    if (ac_ == nullptr || !redis_->connected()) return;
    pollfd pfd{ac_->c.fd, POLLIN | POLLOUT, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return;
    if (pfd.revents & POLLOUT) redisAsyncHandleWrite(ac_);
    if (redis_->connected() && (pfd.revents & (POLLIN | POLLHUP))) redisAsyncHandleRead(ac_);
  }
  template <class Done>
  bool PumpUntil(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      redis_->Tick();
      Pump();
    }
    return done();
  }

  test::RedisServer server_;
  redisAsyncContext* ac_ = nullptr;
  std::vector<std::string> log_;
  std::unique_ptr<AsyncRedis> redis_;
};

TEST_F(AsyncRedisTest, AnExceptionInAReplyCallbackStaysOutOfHiredis) {
  redis_->Tick();  // connects
  ASSERT_TRUE(redis_->connected());
  bool thrown = false;
  ASSERT_TRUE(redis_->Send({"PING"}, 1000, [&](redisReply* r) {
    ASSERT_NE(r, nullptr);
    thrown = true;
    throw std::bad_alloc();
  }));
  ASSERT_TRUE(PumpUntil([&] { return thrown; }));

  // The connection is still there and answers the next command.
  std::string answer;
  ASSERT_TRUE(redis_->Send({"ECHO", "still here"}, 1000, [&](redisReply* r) {
    if (r != nullptr && r->type == REDIS_REPLY_STRING) answer.assign(r->str, r->len);
  }));
  ASSERT_TRUE(PumpUntil([&] { return !answer.empty(); }));
  EXPECT_EQ(answer, "still here");
  ASSERT_FALSE(log_.empty());
  EXPECT_NE(log_.back().find("an exception in a redis reply callback"), std::string::npos)
      << log_.back();
  EXPECT_NE(log_.back().find("bad_alloc"), std::string::npos) << log_.back();
}

}  // namespace
}  // namespace warden
