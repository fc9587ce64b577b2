#include "common/cluster_slots.h"

#include <hiredis/hiredis.h>

#include <algorithm>

namespace warden {

namespace {

bool ValidEndpoint(const RedisNodeAddress& endpoint) {
  return !endpoint.host.empty() && endpoint.port >= 1 && endpoint.port <= 65535;
}

}  // namespace

uint16_t Crc16Xmodem(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::optional<std::string_view> ClusterHashTag(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return std::nullopt;
  size_t close = key.find('}', open + 1);
  // "{}" (nothing between) is no hash tag: the whole key is hashed.
  if (close == std::string_view::npos || close == open + 1) return std::nullopt;
  return key.substr(open + 1, close - open - 1);
}

int ClusterKeySlot(std::string_view key) {
  return Crc16Xmodem(ClusterHashTag(key).value_or(key)) % ClusterSlotMap::kSlots;
}

std::optional<ClusterSlotMap> ClusterSlotMap::Build(const std::vector<ClusterSlotRange>& ranges,
                                                    std::string* why) {
  ClusterSlotMap map;
  map.node_of_slot_.fill(kNoNode);
  for (const ClusterSlotRange& range : ranges) {
    std::string name = std::to_string(range.first) + "-" + std::to_string(range.last);
    if (range.first < 0 || range.last >= kSlots || range.first > range.last) {
      *why = "slot range " + name + " is not within 0-16383";
      return std::nullopt;
    }
    if (!ValidEndpoint(range.primary)) {
      *why = "slot range " + name + " has no usable primary (\"" + range.primary.ToString() + "\")";
      return std::nullopt;
    }
    for (const RedisNodeAddress& replica : range.replicas) {
      if (!ValidEndpoint(replica)) {
        *why = "slot range " + name + " has an unusable replica (\"" + replica.ToString() + "\")";
        return std::nullopt;
      }
    }
    int16_t node = map.FindOrAdd(range.primary, range.replicas);
    for (int slot = range.first; slot <= range.last; ++slot) {
      if (map.node_of_slot_[slot] != kNoNode) {
        *why = "slot " + std::to_string(slot) + " is in two ranges";
        return std::nullopt;
      }
      map.node_of_slot_[slot] = node;
    }
  }
  return map;
}

int16_t ClusterSlotMap::FindOrAdd(const RedisNodeAddress& primary,
                                  const std::vector<RedisNodeAddress>& replicas) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].primary == primary) {
      // One primary may serve several ranges; the latest listing of its replicas stands.
      if (!replicas.empty()) nodes_[i].replicas = replicas;
      return static_cast<int16_t>(i);
    }
  }
  nodes_.push_back({primary, replicas});
  return static_cast<int16_t>(nodes_.size() - 1);
}

const RedisNodeAddress* ClusterSlotMap::PrimaryFor(int slot) const {
  if (slot < 0 || slot >= kSlots || node_of_slot_[slot] == kNoNode) return nullptr;
  return &nodes_[node_of_slot_[slot]].primary;
}

const std::vector<RedisNodeAddress>& ClusterSlotMap::ReplicasFor(int slot) const {
  static const std::vector<RedisNodeAddress> kNone;
  if (slot < 0 || slot >= kSlots || node_of_slot_[slot] == kNoNode) return kNone;
  return nodes_[node_of_slot_[slot]].replicas;
}

bool ClusterSlotMap::Moved(int slot, const RedisNodeAddress& primary) {
  if (slot < 0 || slot >= kSlots) return false;
  bool known = std::any_of(nodes_.begin(), nodes_.end(),
                           [&](const Node& node) { return node.primary == primary; });
  // Nodes are never dropped, so a flood of MOVED to new addresses must not grow them past what
  // int16_t indexes.
  if (!known && nodes_.size() >= static_cast<size_t>(kSlots)) return false;
  node_of_slot_[slot] = FindOrAdd(primary, {});
  return true;
}

bool ClusterSlotMap::Complete() const {
  return std::none_of(node_of_slot_.begin(), node_of_slot_.end(),
                      [](int16_t node) { return node == kNoNode; });
}

std::vector<RedisNodeAddress> ClusterSlotMap::Primaries() const {
  std::vector<bool> serves(nodes_.size(), false);
  for (int16_t node : node_of_slot_) {
    if (node != kNoNode) serves[node] = true;
  }
  std::vector<RedisNodeAddress> primaries;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (serves[i]) primaries.push_back(nodes_[i].primary);
  }
  return primaries;
}

namespace {

// One node of a range, [host, port, id, ...]; false (with `why`) for another shape. "?": the
// node's endpoint is unknown (its port is then not checked).
bool ReadClusterNode(const redisReply* r, const std::string& asked_host, RedisNodeAddress* out,
                     std::string* why) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
      r->element[1]->type != REDIS_REPLY_INTEGER) {
    *why = "a node that is not [host, port, ...]";
    return false;
  }
  const redisReply* host = r->element[0];
  if (host->type == REDIS_REPLY_NIL) {
    out->host = asked_host;
  } else if (host->type == REDIS_REPLY_STRING) {
    out->host.assign(host->str, host->len);
    if (out->host == "?") return true;
    if (out->host.empty()) out->host = asked_host;
  } else {
    *why = "a node whose host is not a string";
    return false;
  }
  long long port = r->element[1]->integer;
  if (port < 1 || port > 65535) {
    *why = "a node with port " + std::to_string(port);
    return false;
  }
  out->port = static_cast<int>(port);
  return true;
}

}  // namespace

std::optional<std::vector<ClusterSlotRange>> ParseClusterSlots(const redisReply* r,
                                                               const std::string& asked_host,
                                                               std::string* why) {
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    *why = "the reply to CLUSTER SLOTS is not an array";
    return std::nullopt;
  }
  std::vector<ClusterSlotRange> ranges;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* entry = r->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 3 ||
        entry->element[0]->type != REDIS_REPLY_INTEGER ||
        entry->element[1]->type != REDIS_REPLY_INTEGER) {
      *why = "a slot range of CLUSTER SLOTS is not [first, last, primary, ...]";
      return std::nullopt;
    }
    ClusterSlotRange range;
    range.first = static_cast<int>(std::clamp<long long>(entry->element[0]->integer, -1, 1 << 20));
    range.last = static_cast<int>(std::clamp<long long>(entry->element[1]->integer, -1, 1 << 20));
    if (!ReadClusterNode(entry->element[2], asked_host, &range.primary, why)) return std::nullopt;
    if (range.primary.host == "?") continue;  // no one we can reach serves these slots
    for (size_t k = 3; k < entry->elements; ++k) {
      RedisNodeAddress replica;
      if (!ReadClusterNode(entry->element[k], asked_host, &replica, why)) return std::nullopt;
      if (replica.host != "?") range.replicas.push_back(std::move(replica));
    }
    ranges.push_back(std::move(range));
  }
  return ranges;
}

}  // namespace warden
