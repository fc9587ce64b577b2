#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

// When to pause between chunks of a migration (or dedupe): the server is busy, its redo log
// is filling, or a replica lags. Written on the command line and in the config as one spec:
//   threads_running=50,replica_lag=5s,sleep=10ms,checkpoint_age=75%
struct ThrottleSettings {
  int64_t threads_running = 0;  // pause while Threads_running exceeds this (0: never)
  int64_t replica_lag_ms = 0;   // pause while a replica lags more (0: never)
  int64_t sleep_ms = 0;         // always rest this long between chunks
  int64_t check_ms = 1000;      // how often to look again while paused
  // Pause while InnoDB's redo not yet checkpointed (Innodb_checkpoint_age) is over this share
  // of what the log may hold (Innodb_checkpoint_max_age), in percent; 0: never. On by
  // default: past about seven eighths InnoDB flushes furiously and every writer of the server
  // (the site's logins and sign-ups) waits for it, so a batch job that writes faster than the
  // server flushes stalls the site unless it leaves the log room. Servers without these
  // status variables (MySQL) are not checked.
  int64_t checkpoint_age_pct = kDefaultCheckpointAgePct;
  static constexpr int64_t kDefaultCheckpointAgePct = 75;

  // On failure returns nullopt and sets `error` to one line.
  static std::optional<ThrottleSettings> Parse(const std::string& spec, std::string* error);
  std::string ToString() const;
  // Anything set beyond the defaults.
  bool any() const {
    return threads_running > 0 || replica_lag_ms > 0 || sleep_ms > 0 ||
           checkpoint_age_pct != kDefaultCheckpointAgePct;
  }
};

// When a batch waits for InnoDB's redo log, and when it stops waiting: the readings of SHOW
// GLOBAL STATUS come in, the decisions go out (no server, no clock of its own). The wait
// protects the server's other writers, so it lasts while InnoDB makes progress, however slowly
// (a server with innodb_io_capacity 200 frees the log at a few MB a second). It stops:
//   - when nothing else writes: the log grew by less than kIdleLogBytes in kIdleMs (InnoDB may
//     then not flush at all below seven eighths, and nobody would wait for it either);
//   - when InnoDB does not flush: the age has not fallen by kProgressBytes in kStuckMs;
//   - after kMaxWaitMs in any case.
// Then the age is not waited for again until it is back under the limit.
class RedoLogWait {
 public:
  static constexpr int64_t kIdleMs = 3000;
  static constexpr int64_t kIdleLogBytes = 64 * 1024;
  static constexpr int64_t kStuckMs = 30000;
  static constexpr int64_t kProgressBytes = 1 << 20;
  static constexpr int64_t kMaxWaitMs = 600000;

  explicit RedoLogWait(int64_t limit_pct) : limit_pct_(limit_pct) {}

  // A reading: is the checkpoint age over the limit, and still to be waited for?
  bool Over(int64_t age, int64_t max_age);
  // A pause for it starts; `lsn` is Innodb_lsn_current, `age` Innodb_checkpoint_age.
  void Begin(int64_t age, int64_t lsn, int64_t now_ms);
  // A later reading, the age still over the limit: "" to go on waiting, or why the wait stops
  // (then Over says false until the age has been back under the limit).
  std::string Check(int64_t age, int64_t lsn, int64_t now_ms);

 private:
  int64_t limit_pct_;
  bool given_up_ = false;
  int64_t start_ms_ = 0;
  int64_t written_lsn_ = 0;  // the log's end when others last wrote
  int64_t written_at_ms_ = 0;
  int64_t lowest_age_ = 0;  // the age when InnoDB last freed kProgressBytes of it
  int64_t fell_at_ms_ = 0;
};

// Between the chunks of a batch: rests `sleep`, then waits while the server is busy
// (Threads_running above the limit, from SHOW GLOBAL STATUS on the batch's own connection),
// its redo log is fuller than checkpoint_age allows (looked at again every 100 ms: the page
// cleaner frees it in a few seconds at most), or
// a replica lags (the largest Seconds_Behind_Master of its channels, from SHOW ALL SLAVES
// STATUS on MariaDB, SHOW REPLICA STATUS or SHOW SLAVE STATUS on MySQL; a replica with a
// stopped or broken thread, or one that cannot be reached or queried, counts as lagging).
// Like pt-archiver's --max-lag and pt-online-schema-change's --max-load.
class LoadThrottle {
 public:
  using EventSink = std::function<void(const nlohmann::json&)>;

  LoadThrottle(MysqlConnection& conn, ThrottleSettings settings, std::vector<MysqlUrl> replicas,
               EventSink events, std::function<bool()> cancelled, Clock clock = SystemNowMs);

  // Returns false when cancelled meanwhile. Emits {"event":"pause","reason":...} when it starts
  // waiting and {"event":"resume","paused_ms":...} when it stops. Adds the time to paused_ms.
  bool Wait(int64_t* paused_ms);
  // Why the server counts as loaded right now, or "".
  std::string LoadReason();
  // Why the redo log is too full right now, or "" (also when the server does not say).
  std::string CheckpointReason();
  // Replica i's lag in seconds (the largest of its channels; 0 when it is not a replica), or
  // nullopt with `why` ("is not replicating", "cannot be checked: ...").
  std::optional<int64_t> ReplicaLag(size_t i, std::string* why);
  size_t replica_count() const { return replica_urls_.size(); }

 private:
  struct Replica {
    std::optional<MysqlConnection> conn;  // opened on first use, again after an error
    size_t statement = 0;                 // which status statement this server understands
  };

  // Why replica i counts as lagging, or "".
  std::string ReplicaReason(size_t i);
  static MysqlRows QueryReplicaStatus(Replica& replica);

  MysqlConnection& conn_;
  ThrottleSettings settings_;
  std::vector<MysqlUrl> replica_urls_;
  std::vector<Replica> replicas_;
  EventSink events_;
  std::function<bool()> cancelled_;
  Clock clock_;
  bool checkpoint_known_ = true;  // the server reports Innodb_checkpoint_age
  RedoLogWait redo_wait_;
  int64_t lsn_ = -1;  // the log sequence number last read (Innodb_lsn_current)
  int64_t age_ = -1;  // the checkpoint age last read
  // How CheckpointReason's reasons begin: Wait tells them from the others by it.
  static constexpr std::string_view kCheckpointReason = "InnoDB checkpoint age ";
};

}  // namespace warden
