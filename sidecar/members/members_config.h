#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/mysql/load_throttle.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

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
