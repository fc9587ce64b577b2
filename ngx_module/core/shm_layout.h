#pragma once

#include <cstddef>
#include <cstdint>

namespace warden {

// Shared by the shared-memory structures (BlacklistTable, ShmMap).

// splitmix64's finalizer: spreads any 64-bit input over all bits.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// One 64-bit hash of a 128-bit value (an address as its two words in memory order).
inline uint64_t MixWords(uint64_t hi, uint64_t lo) {
  return Mix64((hi * 0x9e3779b97f4a7c15ULL) ^ lo);
}

// The most slots (at least `min_slots`) whose region fits in `bytes`, or 0 when not even
// `min_slots` fit. `region_size(slots)` must grow with `slots`.
template <typename RegionSize>
size_t LargestFitting(size_t bytes, size_t min_slots, size_t slot_bytes, RegionSize region_size) {
  if (bytes < region_size(min_slots)) return 0;
  size_t lo = min_slots, hi = bytes / slot_bytes;  // region_size(lo) fits
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    if (region_size(mid) <= bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace warden
