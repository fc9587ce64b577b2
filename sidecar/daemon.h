#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "blacklist_store.h"
#include "logger.h"
#include "redis_connection.h"
#include "redis_url.h"
#include "stop_signal.h"

namespace warden {

// `warden daemon`: the long-running part of the sidecar. For now it runs one periodic task,
// purging expired bans (so the deletions reach every nginx node through the change stream);
// the job scheduler will grow here.
//
// It never gives up on Redis: while Redis is down it reconnects with exponential backoff and
// jitter, logging once when the outage starts and once when it ends. It returns when `stop` is
// signalled, within one Redis timeout at worst.
class Daemon {
 public:
  struct Options {
    RedisUrl redis;
    int64_t timeout_ms = 2000;
    std::string prefix = "warden:";
    int64_t purge_interval_ms = 1000;
    int64_t purge_limit = 1000;     // entries per script call
    int64_t purge_max_rounds = 10;  // script calls per tick when many bans expire at once
    int64_t backoff_initial_ms = 100;
    int64_t backoff_max_ms = 5000;
  };

  Daemon(Options options, Logger& logger, StopSignal& stop);

  // Runs until stopped; returns the process exit code.
  int Run();

 private:
  bool Connect();
  void PurgeTick();
  void EnterOutage(const std::string& why);
  int64_t NextBackoff();

  Options options_;
  Logger& logger_;
  StopSignal& stop_;
  std::optional<RedisConnection> conn_;
  std::unique_ptr<BlacklistStore> store_;
  bool in_outage_ = false;
  int64_t outage_started_ms_ = 0;
  int64_t backoff_ms_ = 0;
  std::string last_task_error_;
  std::mt19937 jitter_{std::random_device{}()};
};

}  // namespace warden
