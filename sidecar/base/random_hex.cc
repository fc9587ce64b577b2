#include "base/random_hex.h"

#include <cstdint>
#include <random>

namespace warden {

std::string RandomHex(size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device random;
  std::string text;
  while (text.size() < digits) {
    uint32_t bits = random();
    for (int j = 0; j < 8 && text.size() < digits; ++j, bits >>= 4) text += kHex[bits & 0xf];
  }
  return text;
}

}  // namespace warden
