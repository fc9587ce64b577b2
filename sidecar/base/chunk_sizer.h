#pragma once

#include <cstdint>

namespace warden {

// Sizes the chunks of a batch so each takes about `target_ms`, like pt-online-schema-change's
// --chunk-time: the next size is the smoothed rate (rows per ms, weighted 0.7 old, 0.3 new)
// times the target, growing at most twofold per chunk and halving at once after a chunk that
// took more than twice the target. A target of 0 keeps the size fixed.
class ChunkSizer {
 public:
  ChunkSizer(int64_t initial, int64_t target_ms, int64_t max, int64_t min = 10);

  int64_t size() const { return size_; }
  // A chunk of `rows` took `ms`.
  void Record(int64_t rows, int64_t ms);
  // A chunk failed (deadlock, lock wait timeout): try half as many rows.
  void Shrink();

 private:
  int64_t size_;
  int64_t target_ms_;
  int64_t max_;
  int64_t min_;
  double rows_per_ms_ = 0;
};

}  // namespace warden
