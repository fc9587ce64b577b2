#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.h"

namespace warden::test {

// What Redis receives while it lives, through MONITOR on a connection of its own: each
// command as a line ("EVAL" "<script>" "0" ...). Counting commands by INFO commandstats cannot
// tell one script from another: the nodes' once-a-second heartbeats and traffic flushes, the
// CLI's reads and the script under test all count as EVAL.
class RedisMonitor {
 public:
  explicit RedisMonitor(const RedisServer& redis);
  ~RedisMonitor();
  RedisMonitor(const RedisMonitor&) = delete;
  RedisMonitor& operator=(const RedisMonitor&) = delete;

  // The commands so far whose line has every one of `parts` in it (e.g. a key's name). MONITOR's
  // feed arrives a little after the commands: Sync first.
  size_t Count(const std::vector<std::string>& parts);
  // Returns once the feed has caught up with everything `redis` ran before this call (an ECHO
  // of a fresh token, which Redis runs in order, is seen); false after 5 s.
  bool Sync(const RedisServer& redis);

 private:
  redisContext* c_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread reader_;
  int syncs_ = 0;
};

}  // namespace warden::test
