#include "load_throttle.h"

#include <chrono>
#include <thread>

#include "errors.h"

namespace warden {

LoadThrottle::LoadThrottle(MysqlConnection& conn, ThrottleSettings settings,
                           std::vector<MysqlUrl> replicas, EventSink events,
                           std::function<bool()> cancelled, Clock clock)
    : conn_(conn),
      settings_(settings),
      replica_urls_(std::move(replicas)),
      replicas_(replica_urls_.size()),
      events_(std::move(events)),
      cancelled_(std::move(cancelled)),
      clock_(std::move(clock)) {
  if (!events_) events_ = [](const nlohmann::json&) {};
  if (!cancelled_) cancelled_ = [] { return false; };
}

std::string LoadThrottle::LoadReason() {
  if (settings_.threads_running > 0) {
    MysqlRows rows = conn_.Query("SHOW GLOBAL STATUS LIKE 'Threads_running'");
    if (!rows.empty()) {
      const int64_t running = rows[0].Int64(1);
      if (running > settings_.threads_running) {
        return "Threads_running=" + std::to_string(running) + " > " +
               std::to_string(settings_.threads_running);
      }
    }
  }
  if (settings_.replica_lag_ms <= 0) return "";
  for (size_t i = 0; i < replica_urls_.size(); ++i) {
    const MysqlUrl& url = replica_urls_[i];
    try {
      if (!replicas_[i]) replicas_[i] = MysqlConnection::Connect(url);
      MysqlRows status = replicas_[i]->Query("SHOW ALL SLAVES STATUS");
      if (status.empty()) continue;  // not a replica: nothing to wait for
      const auto lag = status[0].OptionalInt64(status.ColumnIndex("Seconds_Behind_Master"));
      if (!lag) return "replica " + url.Endpoint() + " is not replicating";
      if (*lag * 1000 > settings_.replica_lag_ms) {
        return "replica " + url.Endpoint() + " lags " + std::to_string(*lag) + "s";
      }
    } catch (const MysqlError&) {
      replicas_[i].reset();
      return "replica " + url.Endpoint() + " unreachable";
    }
  }
  return "";
}

bool LoadThrottle::Wait(int64_t* paused_ms) {
  if (settings_.sleep_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(settings_.sleep_ms));
    *paused_ms += settings_.sleep_ms;
  }
  if (settings_.threads_running <= 0 && settings_.replica_lag_ms <= 0) return !cancelled_();
  std::string reason = LoadReason();
  if (reason.empty()) return !cancelled_();
  const int64_t start = clock_();
  events_({{"event", "pause"}, {"reason", reason}});
  while (!reason.empty() && !cancelled_()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(settings_.check_ms));
    reason = LoadReason();
  }
  const int64_t paused = clock_() - start;
  *paused_ms += paused;
  events_({{"event", "resume"}, {"paused_ms", paused}});
  return !cancelled_();
}

}  // namespace warden
