#include "daemon.h"

#include <algorithm>

#include "clock.h"
#include "duration.h"
#include "errors.h"

namespace warden {

Daemon::Daemon(Options options, Logger& logger, StopSignal& stop)
    : options_(std::move(options)), logger_(logger), stop_(stop) {}

int Daemon::Run() {
  logger_.Info("warden daemon started",
               {{"redis", options_.redis.Endpoint()},
                {"prefix", options_.prefix},
                {"purge_interval", FormatDuration(options_.purge_interval_ms)}});
  while (!stop_.stopped()) {
    if (!conn_ && !Connect()) {
      stop_.WaitFor(NextBackoff());
      continue;
    }
    PurgeTick();
    if (!conn_) continue;  // the tick lost the connection: reconnect without waiting
    stop_.WaitFor(options_.purge_interval_ms);
  }
  logger_.Info("warden daemon stopping");
  return kExitOk;
}

bool Daemon::Connect() {
  try {
    conn_.emplace(RedisConnection::Connect(options_.redis, options_.timeout_ms));
    store_ = std::make_unique<BlacklistStore>(*conn_, RedisSchema(options_.prefix));
  } catch (const RedisError& e) {
    store_.reset();
    conn_.reset();
    EnterOutage(e.what());
    return false;
  }
  if (in_outage_) {
    logger_.Info("redis connection restored",
                 {{"redis", options_.redis.Endpoint()},
                  {"outage", FormatDuration(SystemNowMs() - outage_started_ms_)}});
  }
  in_outage_ = false;
  backoff_ms_ = 0;
  return true;
}

void Daemon::EnterOutage(const std::string& why) {
  if (in_outage_) return;
  in_outage_ = true;
  outage_started_ms_ = SystemNowMs();
  logger_.Warn("redis unavailable; retrying with backoff",
               {{"redis", options_.redis.Endpoint()}, {"error", why}});
}

int64_t Daemon::NextBackoff() {
  backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_initial_ms
                                 : std::min(backoff_ms_ * 2, options_.backoff_max_ms);
  // Full jitter over the upper half keeps a fleet of sidecars from reconnecting in lockstep.
  std::uniform_int_distribution<int64_t> spread(backoff_ms_ / 2, backoff_ms_);
  return spread(jitter_);
}

void Daemon::PurgeTick() {
  try {
    int64_t now_ms = store_->ServerNowMs();
    int64_t total = 0;
    for (int64_t round = 0; round < options_.purge_max_rounds; ++round) {
      int64_t purged = store_->PurgeExpired(now_ms, options_.purge_limit);
      total += purged;
      if (purged < options_.purge_limit || stop_.stopped()) break;
    }
    if (total > 0) logger_.Info("purged expired bans", {{"count", total}});
    last_task_error_.clear();
  } catch (const RedisReplyError& e) {
    // Redis is up but refused (OOM, a key of the wrong type): say so once, keep trying.
    if (e.what() != last_task_error_) logger_.Error("purge failed", {{"error", e.what()}});
    last_task_error_ = e.what();
  } catch (const RedisError& e) {
    store_.reset();
    conn_.reset();
    EnterOutage(e.what());
  }
}

}  // namespace warden
