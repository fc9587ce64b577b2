#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "base/logger.h"
#include "common/blacklist_entry.h"
#include "console/traffic_history.h"
#include "net/control_server.h"
#include "storage/redis/redis_connection.h"

namespace warden {

// The operator's console (docs/console.md), served by `warden daemon` on its HTTP listener:
// the page, JSON snapshots under /api/v1/, and one snapshot a second for the event stream.
// It holds its own Redis connection (the daemon's belongs to its loop thread) and a thread that
// samples the fleet's traffic, writes this sidecar's heartbeat and builds the snapshot once a
// period, whatever the number of viewers. Handle() and NextEvent() run on the server's threads.
class Console {
 public:
  struct Options {
    std::function<RedisConnection()> connect;  // a new connection to the fleet's Redis
    std::string prefix = "warden:";
    std::string node;    // this sidecar's name
    std::string listen;  // shown in its heartbeat
    int64_t period_ms = 1000;
  };
  // The daemon's jobs, as GET /jobs answers them (a JSON array).
  using JobsSource = std::function<nlohmann::json()>;

  static constexpr size_t kTopRows = 50;
  static constexpr size_t kBanRows = 200;
  static constexpr size_t kMaxActor = 64;

  Console(Options options, Logger& logger, JobsSource jobs);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void Start();
  void Stop();

  ControlServer::Reply Handle(const ControlServer::ConsoleRequest& request);
  std::string NextEvent(uint64_t* seq, int64_t wait_ms);

 private:
  using Reply = ControlServer::Reply;

  void Loop();
  void Tick();
  nlohmann::json Snapshot(RedisConnection& conn);
  Reply Page(const ControlServer::ConsoleRequest& request) const;
  Reply Api(const ControlServer::ConsoleRequest& request);
  Reply Top(const ControlServer::ConsoleRequest& request);
  Reply Bans(const ControlServer::ConsoleRequest& request);
  Reply Series(const ControlServer::ConsoleRequest& request);
  // POST /api/v1/ban (source manual) and /api/v1/allow (the fleet's allow list).
  Reply Ban(const ControlServer::ConsoleRequest& request, EntrySource source);
  Reply Unban(const ControlServer::ConsoleRequest& request);
  // Runs `task` with the connection (connecting first); a Redis failure drops the connection
  // and answers 503.
  Reply WithRedis(const std::function<Reply(RedisConnection&)>& task);

  Options options_;
  Logger& logger_;
  JobsSource jobs_;
  const int64_t started_ms_;

  std::mutex redis_mutex_;
  std::optional<RedisConnection> conn_;
  std::string redis_error_;  // the last failure, "" while connected
  TrafficHistory history_;   // under redis_mutex_ too

  std::mutex snapshot_mutex_;
  std::condition_variable snapshot_cv_;
  std::string snapshot_;
  uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace warden
