#include "storage/redis/sentinel_watch.h"

#include <chrono>
#include <utility>

#include "base/errors.h"
#include "common/backoff.h"
#include "common/sentinel_failover.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_node_connection.h"

namespace warden {

SentinelWatch::SentinelWatch(RedisDeployment deployment, int64_t timeout_ms, OnSwitch on_switch,
                             OnProblem on_problem)
    : deployment_(std::move(deployment)),
      timeout_ms_(timeout_ms),
      on_switch_(std::move(on_switch)),
      on_problem_(std::move(on_problem)) {
  if (deployment_.kind == RedisDeployment::Kind::kSentinel && !deployment_.servers.empty()) {
    thread_ = std::thread([this] { Run(); });
  }
}

SentinelWatch::~SentinelWatch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SentinelWatch::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
}

void SentinelWatch::Run() {
  Backoff backoff(100, 5000, Backoff::Jitter::kEqual);
  size_t next = 0;
  bool failing = false;  // one line per outage of the subscription, not per attempt
  while (Sleep(0)) {
    const RedisNodeAddress& sentinel = deployment_.servers[next % deployment_.servers.size()];
    try {
      Follow(sentinel, /*resubscribed=*/failing);
    } catch (const std::exception& e) {
      if (subscribed_.exchange(false, std::memory_order_acq_rel)) {
        // It had been following: a new outage of the subscription, logged and backed off anew.
        failing = false;
        backoff.Reset();
      }
      if (!failing) {
        on_problem_("cannot follow the Sentinels' +switch-master on sentinel " +
                    sentinel.ToString() +
                    " (failovers are then found by a failing command): " + e.what());
      }
      failing = true;
      ++next;
      if (!Sleep(backoff.Next())) return;
    }
  }
}

void SentinelWatch::Follow(const RedisNodeAddress& sentinel, bool resubscribed) {
  RedisNodeConnection conn = RedisNodeConnection::Open(deployment_, &sentinel, timeout_ms_,
                                                       RedisNodeConnection::NodeKind::kSentinel);
  std::optional<RedisNodeAddress> primary;
  if (resubscribed) {
    // A switch announced while the subscription was down was missed: ask where the primary is
    // (before subscribing; the caller does nothing when it is where it was).
    RedisReply reply =
        conn.Command({"SENTINEL", "get-master-addr-by-name", deployment_.master_name});
    primary = RedisConnection::NamedPrimary(reply.view());
  }
  {
    RedisReply reply = conn.Command({"SUBSCRIBE", "+switch-master"});
    ReplyView view = reply.view();
    if (view.is_error() && !conn.sentinel_auth_error().empty()) {
      throw RedisError(conn.sentinel_auth_error());
    }
    view.ThrowIfError();
    if (!view.is_array() || view.size() < 1 || view[0].str() != "subscribe") {
      throw RedisError("sentinel " + sentinel.ToString() + " did not confirm SUBSCRIBE");
    }
  }
  subscribed_.store(true, std::memory_order_release);
  if (primary) on_switch_(*primary, sentinel);
  // A Sentinel that vanished without closing the connection (its host down, a partition) says
  // nothing: a PING every kPingEveryMs must be answered within the timeout.
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  int64_t last_ping_ms = now_ms();
  bool pong_due = false;
  while (Sleep(0)) {
    const int64_t now = now_ms();
    if (pong_due && now - last_ping_ms > timeout_ms_) {
      throw RedisError("sentinel " + sentinel.ToString() + " did not answer PING within " +
                       std::to_string(timeout_ms_) + " ms");
    }
    if (!pong_due && now - last_ping_ms >= kPingEveryMs) {
      conn.Append({"PING"});
      last_ping_ms = now;
      pong_due = true;
    }
    std::optional<RedisReply> message = conn.WaitForMessage(kPollMs, "SUBSCRIBE");
    if (!message) continue;
    ReplyView view = message->view();
    if (view.is_array() && view.size() >= 1 && view[0].str() == "pong") {
      pong_due = false;
      continue;
    }
    // ["message", channel, payload]; anything else (a stray reply) is not for us.
    if (!view.is_array() || view.size() != 3 || view[0].str() != "message") continue;
    std::optional<SentinelEvent> event = SentinelEvent::Parse(view[1].str(), view[2].str());
    if (event && event->kind == SentinelEvent::Kind::kSwitchMaster &&
        event->master_name == deployment_.master_name) {
      on_switch_(event->node, sentinel);
    }
  }
}

}  // namespace warden
