#include "storage/mysql/load_throttle.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>
#include <thread>

#include "base/duration.h"
#include "base/errors.h"

namespace warden {

std::optional<ThrottleSettings> ThrottleSettings::Parse(const std::string& spec,
                                                        std::string* error) {
  ThrottleSettings t;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (end == spec.size()) break;
      continue;
    }
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (eq == std::string::npos || value.empty()) {
      *error = "bad throttle \"" + item + "\": expected NAME=VALUE";
      return std::nullopt;
    }
    if (key == "threads_running") {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || n < 0 || n > 100000) {
        *error = "bad throttle threads_running=\"" + value + "\": expected 0 to 100000";
        return std::nullopt;
      }
      t.threads_running = n;
      continue;
    }
    if (key == "checkpoint_age") {
      std::string digits = value;
      if (!digits.empty() && digits.back() == '%') digits.pop_back();
      int64_t n = -1;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n < 0 ||
          n > 90) {
        *error = "bad throttle checkpoint_age=\"" + value +
                 "\": expected a percentage of the redo log, 0 (never) to 90%";
        return std::nullopt;
      }
      t.checkpoint_age_pct = n;
      continue;
    }
    int64_t* target = key == "replica_lag" ? &t.replica_lag_ms
                      : key == "sleep"     ? &t.sleep_ms
                      : key == "check"     ? &t.check_ms
                                           : nullptr;
    if (target == nullptr) {
      *error = "unknown throttle \"" + key +
               "\" (known: threads_running, replica_lag, sleep, check, checkpoint_age)";
      return std::nullopt;
    }
    std::string why;
    auto ms = ParseDurationMs(value, &why);
    if (!ms || *ms > int64_t{3600} * 1000) {
      *error = "bad throttle " + key + ": " + (ms ? "at most 1h" : why);
      return std::nullopt;
    }
    *target = *ms;
  }
  if (t.check_ms < 10) t.check_ms = 10;
  return t;
}

std::string ThrottleSettings::ToString() const {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ",") + part; };
  if (threads_running > 0) add("threads_running=" + std::to_string(threads_running));
  if (replica_lag_ms > 0) add("replica_lag=" + FormatDuration(replica_lag_ms));
  if (sleep_ms > 0) add("sleep=" + FormatDuration(sleep_ms));
  if (checkpoint_age_pct != kDefaultCheckpointAgePct) {
    add("checkpoint_age=" + std::to_string(checkpoint_age_pct) + "%");
  }
  return out.empty() ? "none" : out;
}

LoadThrottle::LoadThrottle(MysqlConnection& conn, ThrottleSettings settings,
                           std::vector<MysqlUrl> replicas, EventSink events,
                           std::function<bool()> cancelled, Clock clock)
    : conn_(conn),
      settings_(settings),
      replica_urls_(std::move(replicas)),
      replicas_(replica_urls_.size()),
      events_(std::move(events)),
      cancelled_(std::move(cancelled)),
      clock_(std::move(clock)),
      redo_wait_(settings.checkpoint_age_pct) {
  if (!events_) events_ = [](const nlohmann::json&) {};
  if (!cancelled_) cancelled_ = [] { return false; };
}

bool RedoLogWait::Over(int64_t age, int64_t max_age) {
  if (limit_pct_ <= 0 || age * 100 <= limit_pct_ * max_age) {
    given_up_ = false;
    return false;
  }
  return !given_up_;
}

void RedoLogWait::Begin(int64_t age, int64_t lsn, int64_t now_ms) {
  start_ms_ = now_ms;
  written_lsn_ = lsn;
  written_at_ms_ = now_ms;
  lowest_age_ = age;
  fell_at_ms_ = now_ms;
}

std::string RedoLogWait::Check(int64_t age, int64_t lsn, int64_t now_ms) {
  if (lsn - written_lsn_ >= kIdleLogBytes) {
    written_lsn_ = lsn;
    written_at_ms_ = now_ms;
  }
  if (age <= lowest_age_ - kProgressBytes) {
    lowest_age_ = age;
    fell_at_ms_ = now_ms;
  }
  std::string why;
  if (now_ms - written_at_ms_ >= kIdleMs) {
    why = "nothing else writes: going on";
  } else if (now_ms - fell_at_ms_ >= kStuckMs) {
    why = "InnoDB has not flushed in " + FormatDuration(now_ms - fell_at_ms_) + ": going on";
  } else if (now_ms - start_ms_ >= kMaxWaitMs) {
    why = "waited " + FormatDuration(now_ms - start_ms_) + " for InnoDB: going on";
  }
  if (!why.empty()) given_up_ = true;
  return why;
}

std::string LoadThrottle::CheckpointReason() {
  if (settings_.checkpoint_age_pct <= 0 || !checkpoint_known_) return "";
  MysqlRows rows = conn_.Query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_checkpoint_age', "
      "'Innodb_checkpoint_max_age', 'Innodb_lsn_current')");
  int64_t age = -1, max_age = -1;
  for (MysqlRow row : rows) {
    const std::string name = row.String(0);
    const int64_t value = row.OptionalInt64(1).value_or(-1);
    if (name == "Innodb_checkpoint_age") age_ = age = value;
    if (name == "Innodb_checkpoint_max_age") max_age = value;
    if (name == "Innodb_lsn_current") lsn_ = value;
  }
  if (age < 0 || max_age <= 0) {
    checkpoint_known_ = false;  // MySQL, or not InnoDB: nothing to look at, ever
    return "";
  }
  if (!redo_wait_.Over(age, max_age)) return "";
  auto mb = [](int64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MB"; };
  return std::string(kCheckpointReason) + mb(age) + " > " +
         std::to_string(settings_.checkpoint_age_pct) + "% of " + mb(max_age) +
         " (the redo log; raise innodb_log_file_size to go faster)";
}

std::string LoadThrottle::LoadReason() {
  if (std::string why = CheckpointReason(); !why.empty()) return why;
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
    const std::string reason = ReplicaReason(i);
    if (!reason.empty()) return reason;
  }
  return "";
}

std::optional<int64_t> LoadThrottle::ReplicaLag(size_t i, std::string* why) {
  Replica& replica = replicas_[i];
  try {
    if (!replica.conn) replica.conn = MysqlConnection::Connect(replica_urls_[i]);
    MysqlRows status = QueryReplicaStatus(replica);
    // One row per replication channel (MariaDB's multi-source "connections"); none: this
    // server is not a replica and there is nothing to wait for.
    if (status.empty()) return 0;
    const auto& columns = status.columns();
    const bool source =
        std::find(columns.begin(), columns.end(), "Seconds_Behind_Source") != columns.end();
    const size_t lag_column =
        status.ColumnIndex(source ? "Seconds_Behind_Source" : "Seconds_Behind_Master");
    int64_t worst = 0;
    for (MysqlRow row : status) {
      const auto lag = row.OptionalInt64(lag_column);
      if (!lag) {  // a thread stopped or broken
        *why = "is not replicating";
        return std::nullopt;
      }
      worst = std::max(worst, *lag);
    }
    return worst;
  } catch (const MysqlError& e) {
    replica.conn.reset();
    *why = std::string("cannot be checked: ") + e.what();
    return std::nullopt;
  }
}

std::string LoadThrottle::ReplicaReason(size_t i) {
  const std::string name = "replica " + replica_urls_[i].Endpoint();
  std::string why;
  const std::optional<int64_t> lag = ReplicaLag(i, &why);
  if (!lag) return name + " " + why;
  if (*lag * 1000 > settings_.replica_lag_ms) return name + " lags " + std::to_string(*lag) + "s";
  return "";
}

MysqlRows LoadThrottle::QueryReplicaStatus(Replica& replica) {
  // MariaDB: SHOW ALL SLAVES STATUS covers every channel. MySQL has no such statement (a
  // syntax error) and says SHOW REPLICA STATUS since 8.0.22, SHOW SLAVE STATUS before.
  static constexpr const char* kStatements[] = {"SHOW ALL SLAVES STATUS", "SHOW REPLICA STATUS",
                                                "SHOW SLAVE STATUS"};
  constexpr unsigned kParseError = 1064;  // ER_PARSE_ERROR
  for (;;) {
    try {
      return replica.conn->Query(kStatements[replica.statement]);
    } catch (const MysqlError& e) {
      if (e.code() != kParseError || replica.statement + 1 >= std::size(kStatements)) throw;
      ++replica.statement;
    }
  }
}

bool LoadThrottle::Wait(int64_t* paused_ms) {
  if (settings_.sleep_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(settings_.sleep_ms));
    *paused_ms += settings_.sleep_ms;
  }
  if (settings_.threads_running <= 0 && settings_.replica_lag_ms <= 0 &&
      (settings_.checkpoint_age_pct <= 0 || !checkpoint_known_)) {
    return !cancelled_();
  }
  std::string reason = LoadReason();
  if (reason.empty()) return !cancelled_();
  const int64_t start = clock_();
  events_({{"event", "pause"}, {"reason", reason}});
  redo_wait_.Begin(age_, lsn_, start);
  std::string stalled;
  while (!reason.empty() && !cancelled_()) {
    // The redo log empties as the page cleaner flushes: look again soon.
    const bool redo = reason.starts_with(kCheckpointReason);
    std::this_thread::sleep_for(std::chrono::milliseconds(
        redo ? std::min<int64_t>(settings_.check_ms, 100) : settings_.check_ms));
    reason = LoadReason();
    if (!redo || !reason.starts_with(kCheckpointReason)) continue;
    if (std::string why = redo_wait_.Check(age_, lsn_, clock_()); !why.empty()) {
      stalled = why;
      reason = LoadReason();
    }
  }
  const int64_t paused = clock_() - start;
  *paused_ms += paused;
  nlohmann::json resume = {{"event", "resume"}, {"paused_ms", paused}};
  if (!stalled.empty()) resume["reason"] = stalled;
  events_(resume);
  return !cancelled_();
}

}  // namespace warden
