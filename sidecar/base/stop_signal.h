#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace warden {

// A one-way "please stop" flag that sleeping loops can wait on. Stop() is async-signal-safe and
// thread-safe; WaitFor returns as soon as Stop() is called. HandleSignals routes signals such as
// SIGTERM and SIGINT to Stop() until this object is destroyed (one such object at a time).
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  void Stop();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }
  // Sleeps up to `ms` milliseconds; returns true when stopped.
  bool WaitFor(int64_t ms);

  void HandleSignals(std::initializer_list<int> signals);

 private:
  static void OnSignal(int signal);

  int event_fd_ = -1;
  std::atomic<bool> stopped_{false};
  std::vector<int> handled_;
};

}  // namespace warden
