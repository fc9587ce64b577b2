#pragma once

#include <atomic>
#include <cstdint>

namespace warden {

// A spin lock in shared memory owned by a process id, for structures that every nginx worker
// writes. A worker that dies holding it cannot wedge the node: the next locker sees that the
// owner's process is gone and takes the lock over.
class ShmLock {
 public:
  explicit ShmLock(std::atomic<int32_t>* owner, int32_t pid);
  ~ShmLock();
  ShmLock(const ShmLock&) = delete;
  ShmLock& operator=(const ShmLock&) = delete;

  // True when the lock was taken from a dead owner (its half-done work may need repair).
  bool inherited() const { return inherited_; }

  static bool ProcessAlive(int32_t pid);

 private:
  std::atomic<int32_t>* owner_;
  bool inherited_ = false;
};

}  // namespace warden
