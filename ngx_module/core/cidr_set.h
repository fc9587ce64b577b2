#pragma once

#include <bitset>
#include <optional>
#include <unordered_set>

#include "common/address.h"

namespace warden {

// A set of networks with longest-prefix matching: one hash probe per prefix length in use.
// Used for allow lists, which are built at configuration time and only read afterwards.
class CidrSet {
 public:
  void Add(const Cidr& cidr);
  std::optional<Cidr> Match(const IpAddress& addr) const;
  bool empty() const { return networks_.empty(); }
  size_t size() const { return networks_.size(); }

 private:
  struct Key {
    IpAddress::Bytes network;
    int prefix_len;
    bool operator==(const Key& o) const {
      return prefix_len == o.prefix_len && network == o.network;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  std::unordered_set<Key, KeyHash> networks_;
  std::bitset<129> lengths_;
};

}  // namespace warden
