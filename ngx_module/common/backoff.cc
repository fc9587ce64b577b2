#include "common/backoff.h"

#include <algorithm>

namespace warden {

int64_t Backoff::Ceiling(int n) const {
  if (n < 1) n = 1;
  int64_t ceiling = base_ms_;
  for (int i = 1; i < n && ceiling < max_ms_; ++i) ceiling *= 2;
  return std::min(ceiling, max_ms_);
}

int64_t Backoff::Delay(int n) {
  const int64_t ceiling = Ceiling(n);
  std::uniform_int_distribution<int64_t> spread(jitter_ == Jitter::kFull ? 0 : ceiling / 2,
                                                ceiling);
  return spread(rng_);
}

}  // namespace warden
