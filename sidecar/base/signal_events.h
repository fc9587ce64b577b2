#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace warden {

// What the daemon's loop sleeps on: SIGTERM/SIGINT (stop), SIGHUP (reload) and wake-ups from
// other threads (a run ended, a control request). Signal handlers and Wake only set a flag and
// write to an eventfd, which is async-signal-safe. One object at a time handles signals.
class SignalEvents {
 public:
  SignalEvents();
  ~SignalEvents();
  SignalEvents(const SignalEvents&) = delete;
  SignalEvents& operator=(const SignalEvents&) = delete;

  // Routes SIGTERM and SIGINT to RequestStop, SIGHUP to RequestReload, until destroyed.
  void HandleSignals();

  void RequestStop();
  void RequestReload();
  void Wake();

  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }
  // True once per SIGHUP.
  bool TakeReload() { return reload_.exchange(false, std::memory_order_acq_rel); }

  // Sleeps until Wake (or a signal) or `ms` passes.
  void Wait(int64_t ms);
  // Sleeps until Wake (or a signal) or the wall clock reaches `unix_ms`, to the microsecond:
  // fire times are wall-clock milliseconds, and a millisecond timeout rounds the wrong way.
  void WaitUntil(int64_t unix_ms);

 private:
  static void OnSignal(int signal);

  int event_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};
  std::vector<int> handled_;
};

}  // namespace warden
