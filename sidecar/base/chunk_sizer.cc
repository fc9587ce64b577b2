#include "base/chunk_sizer.h"

#include <algorithm>

namespace warden {

ChunkSizer::ChunkSizer(int64_t initial, int64_t target_ms, int64_t max, int64_t min)
    : target_ms_(target_ms),
      max_(std::max<int64_t>(max, 1)),
      min_(std::clamp<int64_t>(min, 1, max_)) {
  size_ = std::clamp<int64_t>(initial, 1, max_);
}

void ChunkSizer::Record(int64_t rows, int64_t ms) {
  if (target_ms_ <= 0 || rows <= 0) return;
  const double rate = static_cast<double>(rows) / static_cast<double>(std::max<int64_t>(ms, 1));
  rows_per_ms_ = rows_per_ms_ == 0 ? rate : 0.7 * rows_per_ms_ + 0.3 * rate;
  int64_t next = static_cast<int64_t>(rows_per_ms_ * static_cast<double>(target_ms_));
  next = std::min(next, size_ * 2);
  if (ms > 2 * target_ms_) next = std::min(next, rows / 2);
  size_ = std::clamp(next, min_, max_);
}

void ChunkSizer::Shrink() { size_ = std::max(min_, size_ / 2); }

}  // namespace warden
