// libFuzzer target for the distinct-path sketch's hex form, which the sidecar reads from Redis
// (top:dpath). Invariants: no crash; whatever parses prints back to the same sketch, and its
// estimate lies between 0 and the saturation bound.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/distinct_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sketch = warden::DistinctPaths::FromHex(text);
  if (!sketch) return 0;
  const int64_t estimate = sketch->Estimate();
  if (estimate < 0 || estimate > warden::DistinctPaths::kSaturated) std::abort();
  if (sketch->empty() != (estimate == 0)) std::abort();
  if (sketch->empty()) return 0;  // (prints as "")
  auto again = warden::DistinctPaths::FromHex(sketch->ToHex());
  if (!again || again->word(0) != sketch->word(0) || again->word(1) != sketch->word(1)) {
    std::abort();
  }
  warden::DistinctPaths merged = *sketch;
  merged.Merge(*again);
  if (merged.Estimate() != estimate) std::abort();
  return 0;
}
