#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/redis_node_address.h"

namespace warden {

// What a Sentinel publishes about a failover that a client can act on before the failover is
// announced, read from the Pub/Sub channel and message. Sentinel describes an instance as
// "master NAME IP PORT ..." or "slave IP:PORT IP PORT @ MASTER-NAME MASTER-IP MASTER-PORT".
//
// Every Sentinel publishes +sdown and +odown of a master it watches; only the leader of a
// failover publishes its steps (+failover-state-wait-promotion: it sent the replica REPLICAOF
// NO ONE); every Sentinel publishes +switch-master once it adopts the new configuration, about
// a second after the replica obeyed (the leader waits for its next INFO of the replica).
struct SentinelEvent {
  enum class Kind {
    kSwitchMaster,   // the failover is done: `node` is the new primary, `master` the old one
    kMasterDown,     // +sdown or +odown of `master`: a failover may follow
    kWaitPromotion,  // the leader told `node`, a replica of `master`, REPLICAOF NO ONE
  };
  // The channels these come on, for SUBSCRIBE.
  static constexpr const char* kChannels[] = {"+switch-master", "+sdown", "+odown",
                                              "+failover-state-wait-promotion"};

  Kind kind = Kind::kSwitchMaster;
  std::string master_name;
  RedisNodeAddress master;
  RedisNodeAddress node;  // kSwitchMaster, kWaitPromotion; empty otherwise

  // nullopt for another channel, an event about a replica or a Sentinel (their +sdown), or a
  // message that does not parse. Never throws on garbage.
  static std::optional<SentinelEvent> Parse(std::string_view channel, std::string_view message);
};

// One entry of SENTINEL REPLICAS NAME: a flat list of field names and values.
struct SentinelReplica {
  RedisNodeAddress address;
  std::string flags;  // "slave", "s_down,slave,disconnected", ...

  // Sentinel could have promoted it: not down or disconnected in its view.
  bool Reachable() const;
  // nullopt without a usable "ip" and "port".
  static std::optional<SentinelReplica> FromFields(
      const std::vector<std::pair<std::string, std::string>>& fields);
};

// What one replica of a primary that went silent answered to ROLE.
struct ReplicaRole {
  RedisNodeAddress address;
  bool master = false;  // ROLE's first element is "master"
};

// The replica a failover has promoted, before the Sentinels announce it: the one address among
// `answers` that says master, when exactly one does. None: not promoted yet. Two or more: not
// ours to choose between (an operator's doing, or two failovers); the Sentinels will say.
// A replica says master only once a Sentinel leader, elected by a majority of the Sentinels,
// sent it REPLICAOF NO ONE (or an operator did): docs/topology.md says why following it early
// is safe.
std::optional<RedisNodeAddress> PromotedReplica(const std::vector<ReplicaRole>& answers);

}  // namespace warden
