#include "support/redis_monitor.h"

#include <sys/time.h>

#include <cerrno>
#include <stdexcept>

#include "support/poll_until.h"

namespace warden::test {

RedisMonitor::RedisMonitor(const RedisServer& redis) {
  timeval tv{1, 0};
  c_ = redisConnectWithTimeout("127.0.0.1", redis.port(), tv);
  if (!c_ || c_->err) {
    if (c_) redisFree(c_);
    throw std::runtime_error("RedisMonitor: cannot connect");
  }
  auto* ok = static_cast<redisReply*>(redisCommand(c_, "MONITOR"));
  if (!ok) {
    redisFree(c_);
    throw std::runtime_error("RedisMonitor: MONITOR failed");
  }
  freeReplyObject(ok);
  timeval poll{0, 100 * 1000};
  redisSetTimeout(c_, poll);
  reader_ = std::thread([this] {
    while (!stop_) {
      void* reply = nullptr;
      if (redisGetReply(c_, &reply) != REDIS_OK) {
        if (c_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          c_->err = 0;  // a quiet 100 ms: look at stop_ again
          c_->errstr[0] = '\0';
          continue;
        }
        return;
      }
      auto* r = static_cast<redisReply*>(reply);
      if (r->type == REDIS_REPLY_STATUS) {
        std::lock_guard lock(mu_);
        lines_.emplace_back(r->str, r->len);
      }
      freeReplyObject(r);
    }
  });
}

RedisMonitor::~RedisMonitor() {
  stop_ = true;
  reader_.join();
  redisFree(c_);
}

bool RedisMonitor::Sync(const RedisServer& redis) {
  const std::string token = "warden-monitor-sync-" + std::to_string(++syncs_);
  redis.Command({"ECHO", token});
  return PollUntil([&] { return Count({token}) > 0; }, std::chrono::seconds(5),
                   std::chrono::milliseconds(2));
}

size_t RedisMonitor::Count(const std::vector<std::string>& parts) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& line : lines_) {
    bool all = true;
    for (const auto& part : parts) all = all && line.find(part) != std::string::npos;
    n += all;
  }
  return n;
}

}  // namespace warden::test
