#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// How many distinct paths one address asked for: a 128-bit linear-counting sketch (Whang et
// al. 1990). Each path's 64-bit hash sets one bit; the estimate follows from the share of bits
// still clear. Sketches merge by OR, whatever worker, node or minute they come from, so the
// nodes, Redis (`top:dpath:<minute>`, 32 hex digits) and `warden top` agree on one encoding.
// 16 bytes whatever the client sends: exact for a handful of paths, within ~10 % up to ~200,
// and saturated (every bit set) past ~600, which Estimate() reports as at least kSaturated.
class DistinctPaths {
 public:
  static constexpr int kBits = 128;
  static constexpr int64_t kSaturated = 619;  // the estimate with one bit clear, rounded up
  static constexpr size_t kHexDigits = kBits / 4;

  void Add(uint64_t path_hash) {
    const unsigned bit = static_cast<unsigned>(path_hash >> 57);  // the top 7 bits
    words_[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
  void Merge(const DistinctPaths& other) {
    words_[0] |= other.words_[0];
    words_[1] |= other.words_[1];
  }
  bool empty() const { return (words_[0] | words_[1]) == 0; }
  bool saturated() const { return ~words_[0] == 0 && ~words_[1] == 0; }
  // The estimated count, rounded; kSaturated (a lower bound) when every bit is set.
  int64_t Estimate() const;

  // 32 lowercase hex digits, the highest word first ("" when empty).
  std::string ToHex() const;
  // nullopt for anything but 32 hex digits (data in Redis that is not ours).
  static std::optional<DistinctPaths> FromHex(std::string_view hex);

  uint64_t word(int i) const { return words_[i]; }
  void set_word(int i, uint64_t w) { words_[i] = w; }

 private:
  uint64_t words_[2] = {0, 0};
};

}  // namespace warden
