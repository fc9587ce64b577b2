#include "scheduler/thread_executor.h"

#include "common/clock.h"

namespace warden {

ThreadExecutor::~ThreadExecutor() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (RunThread& w : threads_) {
    if (w.thread.joinable()) w.thread.join();
  }
}

void ThreadExecutor::Start(const RunRequest& request) {
  Reap();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, request, done] {
    RunOutcome outcome;
    try {
      outcome = run_(request);
    } catch (const std::exception& e) {
      outcome.result = RunResult::kFailed;
      outcome.error = std::string("internal error: ") + e.what();
    }
    if (outcome.finished_ms == 0) outcome.finished_ms = SystemNowMs();
    done_(request.local_id, std::move(outcome));
    done->store(true);
  });
  std::lock_guard<std::mutex> lock(mutex_);
  threads_.push_back({std::move(thread), std::move(done)});
}

void ThreadExecutor::Reap() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
}

void ThreadExecutor::Abandon() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (RunThread& w : threads_) {
    if (w.thread.joinable()) w.thread.detach();
  }
  threads_.clear();
}

size_t ThreadExecutor::alive() {
  Reap();
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_.size();
}

}  // namespace warden
