#pragma once

#include <cstdint>
#include <string>

#include "storage/mysql/mysql_connection.h"

namespace warden {

// `warden members migrate --max-impact`: after each chunk, looks at what the site felt and
// rests before the next one (docs/members.md):
//   - row locks: the server's Innodb_row_lock_waits and Innodb_row_lock_time went up, so some
//     session (a login on a member of the chunk) waited for a lock; the chunk's own statements
//     do not wait unless they meet the site's locks, which counts the same;
//   - a probe query: a primary-key read of member, timed against its median before the first
//     chunk; a probe more than twice as slow (and 0.5 ms slower) means the server's threads
//     queue for the CPU or the disk.
// Under pressure it rests as long as the chunk took, so the site gets at least half the time,
// and the next chunk is halved; otherwise it rests a quarter of the chunk's time.
class ImpactGovernor {
 public:
  struct Advice {
    int64_t rest_ms = 0;
    bool shrink = false;
    std::string reason;  // "" without pressure
  };

  // `probe_sql` reads one row by primary key: "SELECT id FROM member WHERE id = ?".
  ImpactGovernor(MysqlConnection& conn, const std::string& probe_sql, int64_t probe_id);

  // Measures the probe's baseline and reads the lock counters.
  void Start();
  // After a chunk that took `chunk_ms`.
  Advice AfterChunk(int64_t chunk_ms);
  double baseline_ms() const { return baseline_ms_; }

 private:
  double Probe();
  void ReadCounters(int64_t* waits, int64_t* wait_ms);

  MysqlConnection& conn_;
  MysqlStatement probe_;
  int64_t probe_id_;
  double baseline_ms_ = 0;
  int64_t waits_ = 0;
  int64_t wait_ms_ = 0;
};

}  // namespace warden
