#include "core/shm_lock.h"

#include <sched.h>
#include <signal.h>

#include <cerrno>

namespace warden {

bool ShmLock::ProcessAlive(int32_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

ShmLock::ShmLock(std::atomic<int32_t>* owner, int32_t pid) : owner_(owner) {
  for (int spins = 0;; ++spins) {
    int32_t current = 0;
    if (owner_->compare_exchange_weak(current, pid, std::memory_order_acquire)) return;
    // Checking for a dead owner costs a syscall: only after spinning a while.
    if (spins > 1000 && current != 0 && current != pid && !ProcessAlive(current) &&
        owner_->compare_exchange_strong(current, pid, std::memory_order_acquire)) {
      inherited_ = true;
      return;
    }
    if (spins > 64) sched_yield();
  }
}

ShmLock::~ShmLock() { owner_->store(0, std::memory_order_release); }

}  // namespace warden
