#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mysql_url.h"

namespace warden {

// When to pause between chunks of a migration (or dedupe): the server is busy or a replica
// lags. Written on the command line and in the config as one spec:
//   threads_running=50,replica_lag=5s,sleep=10ms
struct ThrottleSettings {
  int64_t threads_running = 0;  // pause while Threads_running exceeds this (0: never)
  int64_t replica_lag_ms = 0;   // pause while a replica lags more (0: never)
  int64_t sleep_ms = 0;         // always rest this long between chunks
  int64_t check_ms = 1000;      // how often to look again while paused

  // On failure returns nullopt and sets `error` to one line.
  static std::optional<ThrottleSettings> Parse(const std::string& spec, std::string* error);
  std::string ToString() const;
  bool any() const { return threads_running > 0 || replica_lag_ms > 0 || sleep_ms > 0; }
};

// The [members] table of warden.toml: where members live and how migrations run.
//   [members]
//   table = "member"
//   archive_table = "unconnected_member"
//   id_column = "id"                      # the primary key: an integer
//   last_login_column = "last_login_time" # unix seconds, indexed
//   email_column = "email"
//   moved_at_column = "moved_at"          # in the archive table only
//   state_table = "warden_members_migration"
//   inactive_for = "365d"
//   chunk = 1000                          # rows in the first chunk
//   chunk_time = "80ms"                   # chunk size adapts to this (0: fixed size)
//   max_chunk = 50000
//   parallel = 1                          # id-range stripes moved at once, a connection each
//   throttle = "threads_running=50,replica_lag=5s"
//   replicas = ["mysql://monitor:pw@replica1/app"]
struct MembersSettings {
  std::string table = "member";
  std::string archive_table = "unconnected_member";
  std::string id_column = "id";
  std::string last_login_column = "last_login_time";
  std::string email_column = "email";
  std::string moved_at_column = "moved_at";
  std::string state_table = "warden_members_migration";
  int64_t inactive_for_ms = int64_t{365} * 86400 * 1000;
  int64_t chunk = 1000;
  // 80 ms: the longest chunk runs to about 3x the target when other work shares the cores, and
  // chunks of a few thousand rows cost no more per row than bigger ones (docs/members.md).
  int64_t chunk_time_ms = 80;
  int64_t max_chunk = 50000;
  int64_t parallel = 1;
  ThrottleSettings throttle;
  std::vector<MysqlUrl> replicas;

  // The [members] table of `path` ("" or no table: the defaults). Throws UsageError.
  static MembersSettings Load(const std::string& path);
};

}  // namespace warden
