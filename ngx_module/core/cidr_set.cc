#include "core/cidr_set.h"

#include <cstring>

namespace warden {

size_t CidrSet::KeyHash::operator()(const Key& k) const {
  uint64_t hi, lo;
  std::memcpy(&hi, k.network.data(), 8);
  std::memcpy(&lo, k.network.data() + 8, 8);
  uint64_t h = (hi * 0x9e3779b97f4a7c15ULL) ^ (lo + 0x632be59bd9b4e019ULL + k.prefix_len);
  return static_cast<size_t>(h ^ (h >> 29));
}

void CidrSet::Add(const Cidr& cidr) {
  networks_.insert(Key{cidr.network().bytes(), cidr.prefix_len()});
  lengths_.set(cidr.prefix_len());
}

std::optional<Cidr> CidrSet::Match(const IpAddress& addr) const {
  for (int len = 128; len >= 0; --len) {
    if (!lengths_.test(len)) continue;
    IpAddress network = addr.Masked(len);
    if (networks_.count(Key{network.bytes(), len})) return Cidr(network, len);
  }
  return std::nullopt;
}

}  // namespace warden
