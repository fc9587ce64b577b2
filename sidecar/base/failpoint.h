#pragma once

#include <string_view>

namespace warden {

// Crash points for the tests of crash safety. WARDEN_FAILPOINT names one point and, after '@',
// which time it is reached (default 1): "members.after_insert@3" makes the process kill itself
// with SIGKILL, as `kill -9` would, the third time it reaches members.after_insert. With
// ":wait=FILE" after it, the process stops there instead: it creates FILE.waiting, waits until
// FILE exists, then goes on, so a test can act at exactly that point ("...@2:wait=/tmp/t/go").
// Unset (as always outside the tests), a failpoint costs one branch.
//
//   Failpoint("members.before_commit");
void Failpoint(std::string_view name);

}  // namespace warden
