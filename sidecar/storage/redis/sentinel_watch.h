#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/redis_deployment.h"
#include "common/redis_node_address.h"

namespace warden {

// The daemon's subscription to the Sentinels' +switch-master (the nginx module has its own on
// its event loop, core/sentinel_locator.h; the CLI connects per command and needs none): a
// thread subscribed on one Sentinel of a sentinel:// deployment at a time (the next one after
// a failure, with backoff), calling `on_switch` with the new primary each time the Sentinels
// announce that the deployment's master moved. Without it a long-lived connection would leave
// the old primary only at its first failing command; an old primary cut off from the
// Sentinels but not from this host, or one not yet turned into a replica after a manual
// failover, would meanwhile go on taking writes that are lost when it is.
class SentinelWatch {
 public:
  // `on_switch(new_primary, sentinel)` (the Sentinel that announced it, which names it from
  // then on) and `on_problem(line)` run on the watch's thread.
  using OnSwitch = std::function<void(const RedisNodeAddress&, const RedisNodeAddress&)>;
  using OnProblem = std::function<void(const std::string&)>;

  SentinelWatch(RedisDeployment deployment, int64_t timeout_ms, OnSwitch on_switch,
                OnProblem on_problem);
  // Stops the thread: within ~kPollMs, or the connection timeout when it is connecting.
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  // Subscribed right now (for tests and status).
  bool subscribed() const { return subscribed_.load(std::memory_order_acquire); }

  static constexpr int64_t kPollMs = 200;
  static constexpr int64_t kPingEveryMs = 5000;

 private:
  void Run();
  // One subscription, until it fails (throws) or the watch stops. `resubscribed`: after an
  // outage of the subscription, so the primary is asked for once (a switch may have been
  // missed) and passed to on_switch.
  void Follow(const RedisNodeAddress& sentinel, bool resubscribed);
  // Sleeps up to `ms`; false when the watch stops meanwhile.
  bool Sleep(int64_t ms);

  RedisDeployment deployment_;
  int64_t timeout_ms_;
  OnSwitch on_switch_;
  OnProblem on_problem_;
  std::atomic<bool> subscribed_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // under mutex_
  std::thread thread_;
};

}  // namespace warden
