#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_node_address.h"

struct redisReply;  // hiredis

namespace warden {

// Redis Cluster's key-to-slot math (https://redis.io/docs/reference/cluster-spec/, "Keys
// distribution model"), and which node serves each slot.

// CRC16-CCITT as XMODEM computes it (polynomial 0x1021, initial value 0): the one the spec names.
uint16_t Crc16Xmodem(std::string_view data);

// The hash tag of `key`: the text between its first '{' and the next '}', when there is
// something between them; nullopt otherwise (then the whole key is hashed).
std::optional<std::string_view> ClusterHashTag(std::string_view key);

// The slot of `key`: CRC16 mod 16384 of the key, or of its hash tag, the text between the
// first '{' and the next '}' when there is something between them, so that related keys
// ("{user1000}.following", "{user1000}.followers") share a slot.
int ClusterKeySlot(std::string_view key);

// A slot range as CLUSTER SLOTS reports it, already read out of the reply.
struct ClusterSlotRange {
  int first = 0;
  int last = 0;  // inclusive
  RedisNodeAddress primary;
  std::vector<RedisNodeAddress> replicas;
};

// The slot ranges of a CLUSTER SLOTS reply as hiredis read it, for the module and the sidecar
// alike. A node listed without a host (nil or "": "the node you asked", Redis 7) gets
// `asked_host`; a range whose primary's endpoint is unknown ("?") is left out (no one we can
// reach serves it), and so is such a replica. On a reply of another shape returns nullopt and
// sets `why` (one line).
std::optional<std::vector<ClusterSlotRange>> ParseClusterSlots(const redisReply* reply,
                                                               const std::string& asked_host,
                                                               std::string* why);

// Which primary serves each slot. Built from CLUSTER SLOTS, then corrected by MOVED replies until
// the next CLUSTER SLOTS.
class ClusterSlotMap {
 public:
  static constexpr int kSlots = 16384;

  // On failure returns nullopt and sets `why` (a range out of [0, 16383] or reversed, two ranges
  // over one slot, a node without a host or with a port out of range). Slots no range covers
  // are allowed: a cluster may be partly down.
  static std::optional<ClusterSlotMap> Build(const std::vector<ClusterSlotRange>& ranges,
                                             std::string* why);

  // The primary that serves `slot`, or nullptr when none does (or `slot` is out of range).
  const RedisNodeAddress* PrimaryFor(int slot) const;
  // Its replicas as CLUSTER SLOTS listed them; empty after a MOVED gave the slot a new primary.
  const std::vector<RedisNodeAddress>& ReplicasFor(int slot) const;

  // A MOVED reply: `slot` is now served by `primary`. Returns false, changing nothing, for a
  // slot out of range or when MOVED replies have named kSlots primaries since the map was built:
  // then it is time to ask CLUSTER SLOTS again (a client does on any MOVED anyway).
  bool Moved(int slot, const RedisNodeAddress& primary);

  // Every slot has a primary.
  bool Complete() const;
  // The distinct primaries that serve a slot, in the order first seen.
  std::vector<RedisNodeAddress> Primaries() const;

 private:
  struct Node {
    RedisNodeAddress primary;
    std::vector<RedisNodeAddress> replicas;
  };
  static constexpr int16_t kNoNode = -1;

  int16_t FindOrAdd(const RedisNodeAddress& primary, const std::vector<RedisNodeAddress>& replicas);

  std::vector<Node> nodes_;
  std::array<int16_t, kSlots> node_of_slot_;
};

}  // namespace warden
