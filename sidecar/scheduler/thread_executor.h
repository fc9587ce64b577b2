#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "scheduler/scheduler.h"

namespace warden {

// Runs each RunRequest on its own thread (jobs wait on networks and child processes, and a
// daemon runs a handful at a time) and reports the outcome through `done`.
class ThreadExecutor : public Executor {
 public:
  using RunFn = std::function<RunOutcome(const RunRequest&)>;
  using DoneFn = std::function<void(uint64_t local_id, RunOutcome outcome)>;

  ThreadExecutor(RunFn run, DoneFn done) : run_(std::move(run)), done_(std::move(done)) {}
  // Joins every thread: the caller makes sure runs end first (or calls Abandon).
  ~ThreadExecutor();
  ThreadExecutor(const ThreadExecutor&) = delete;
  ThreadExecutor& operator=(const ThreadExecutor&) = delete;

  void Start(const RunRequest& request) override;
  // Lets runs that would not stop go on without waiting for them (the process is exiting).
  void Abandon();
  size_t alive();

 private:
  struct RunThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void Reap();

  RunFn run_;
  DoneFn done_;
  std::mutex mutex_;
  std::list<RunThread> threads_;
};

}  // namespace warden
