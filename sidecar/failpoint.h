#pragma once

#include <string_view>

namespace warden {

// Crash points for the tests of crash safety. WARDEN_FAILPOINT names one point and, after '@',
// which time it is reached (default 1): "members.after_insert@3" makes the process kill itself
// with SIGKILL, as `kill -9` would, the third time it reaches members.after_insert. Unset (as
// always outside the tests), a failpoint costs one branch.
//
//   Failpoint("members.before_commit");
void Failpoint(std::string_view name);

}  // namespace warden
