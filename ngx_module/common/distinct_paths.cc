#include "common/distinct_paths.h"

#include <bit>
#include <cmath>

namespace warden {

int64_t DistinctPaths::Estimate() const {
  const int set = std::popcount(words_[0]) + std::popcount(words_[1]);
  if (set >= kBits) return kSaturated;
  // n such that kBits * (1 - 1/kBits)^n bits stay clear: the expected collisions accounted.
  const double clear = static_cast<double>(kBits - set) / kBits;
  return std::llround(std::log(clear) / std::log1p(-1.0 / kBits));
}

std::string DistinctPaths::ToHex() const {
  if (empty()) return "";
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(kHexDigits, '0');
  for (int w = 0; w < 2; ++w) {
    const uint64_t word = words_[1 - w];
    for (int d = 0; d < 16; ++d) out[w * 16 + d] = kDigits[(word >> (60 - 4 * d)) & 0xf];
  }
  return out;
}

std::optional<DistinctPaths> DistinctPaths::FromHex(std::string_view hex) {
  if (hex.size() != kHexDigits) return std::nullopt;
  DistinctPaths out;
  for (int w = 0; w < 2; ++w) {
    uint64_t word = 0;
    for (int d = 0; d < 16; ++d) {
      const char c = hex[static_cast<size_t>(w * 16 + d)];
      int v;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
      } else {
        return std::nullopt;
      }
      word = (word << 4) | static_cast<uint64_t>(v);
    }
    out.words_[1 - w] = word;
  }
  return out;
}

}  // namespace warden
