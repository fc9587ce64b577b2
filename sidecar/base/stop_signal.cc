#include "base/stop_signal.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>

#include "base/errors.h"

namespace warden {

namespace {

std::atomic<StopSignal*> g_signal_target{nullptr};

}  // namespace

StopSignal::StopSignal() : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (event_fd_ < 0)
    throw IoError(std::string("cannot create an eventfd: ") + std::strerror(errno));
}

StopSignal::~StopSignal() {
  for (int signal : handled_) std::signal(signal, SIG_DFL);
  StopSignal* self = this;
  g_signal_target.compare_exchange_strong(self, nullptr);
  close(event_fd_);
}

void StopSignal::Stop() {
  stopped_.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t ignored = write(event_fd_, &one, sizeof one);
  (void)ignored;
}

bool StopSignal::WaitFor(int64_t ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  while (!stopped()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{event_fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR) return stopped();
  }
  return true;
}

void StopSignal::HandleSignals(std::initializer_list<int> signals) {
  g_signal_target.store(this);
  for (int signal : signals) {
    struct sigaction action = {};
    action.sa_handler = &StopSignal::OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signal, &action, nullptr);
    handled_.push_back(signal);
  }
}

void StopSignal::OnSignal(int) {
  int saved_errno = errno;
  if (StopSignal* target = g_signal_target.load()) target->Stop();
  errno = saved_errno;
}

}  // namespace warden
