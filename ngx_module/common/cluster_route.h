#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace warden {

// Where a command goes in a Redis Cluster, decided from its arguments alone: the slot of its
// keys (common/cluster_slots.h: ClusterKeySlot, hash tags), any primary for a command without
// a key, every primary for what each must have (SCRIPT LOAD), or a refusal that says why (keys
// in different slots, which Redis would refuse with CROSSSLOT; a command Warden does not
// route). Shared by the sidecar's ClusterClient and the module's AsyncCluster. Which arguments are
// keys comes from a table of the commands Warden sends, after Redis's own key specs (COMMAND INFO).
struct ClusterRoute {
  enum class Kind {
    kSlot,          // the primary serving `slot`
    kAnyNode,       // no key: TIME, PING, INFO, ROLE, an EVAL without keys ...
    kEveryPrimary,  // no key, and every primary needs it: SCRIPT LOAD / FLUSH
    kRefused,       // `why`
  };

  Kind kind = Kind::kRefused;
  int slot = -1;    // kSlot
  std::string why;  // kRefused: one line

  static ClusterRoute For(const std::vector<std::string_view>& argv);
  static ClusterRoute For(const std::vector<std::string>& argv);
};

}  // namespace warden
