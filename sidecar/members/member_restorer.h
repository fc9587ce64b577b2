#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "members/members_config.h"
#include "storage/mysql/mysql_connection.h"

namespace warden {

// `warden members restore`: moves one member back from the archive to the member table in one
// transaction (the archived row locked, copied back, deleted), the reactivation on login.
// By default last_login_time becomes now, so the next migration does not move the member again
// before the application records the login.
class MemberRestorer {
 public:
  struct Result {
    int64_t id = 0;
    // "restored", or "active" when the member is in the member table already (nothing done).
    std::string outcome;
    std::optional<std::string> renamed;  // the email it went back with (--rename)
  };

  MemberRestorer(MysqlConnection& conn, MembersSettings settings, Clock clock = SystemNowMs)
      : conn_(conn), settings_(std::move(settings)), clock_(std::move(clock)) {}

  // Exactly one of id and email. With `rename`, the member goes back with that email instead of
  // its archived one. Throws UsageError for unusable tables, Error (exit 1) when no such member
  // exists in either table, or the email is archived more than once, or the row cannot go back
  // because a member holds the same value of one of member's unique keys (a new member took
  // its email meanwhile: the message names that member and offers --rename).
  Result Restore(std::optional<int64_t> id, std::optional<std::string> email, bool touch,
                 std::optional<std::string> rename = std::nullopt);

 private:
  MysqlConnection& conn_;
  MembersSettings settings_;
  Clock clock_;
};

}  // namespace warden
