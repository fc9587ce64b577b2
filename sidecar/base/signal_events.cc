#include "base/signal_events.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>

#include "base/errors.h"

namespace warden {

namespace {

std::atomic<SignalEvents*> g_target{nullptr};

}  // namespace

SignalEvents::SignalEvents() : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (event_fd_ < 0)
    throw IoError(std::string("cannot create an eventfd: ") + std::strerror(errno));
}

SignalEvents::~SignalEvents() {
  for (int signal : handled_) std::signal(signal, SIG_DFL);
  SignalEvents* self = this;
  g_target.compare_exchange_strong(self, nullptr);
  close(event_fd_);
}

void SignalEvents::HandleSignals() {
  g_target.store(this);
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction action = {};
    action.sa_handler = &SignalEvents::OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signal, &action, nullptr);
    handled_.push_back(signal);
  }
}

void SignalEvents::OnSignal(int signal) {
  const int saved_errno = errno;
  if (SignalEvents* target = g_target.load()) {
    if (signal == SIGHUP) {
      target->RequestReload();
    } else {
      target->RequestStop();
    }
  }
  errno = saved_errno;
}

void SignalEvents::RequestStop() {
  stop_.store(true, std::memory_order_release);
  Wake();
}

void SignalEvents::RequestReload() {
  reload_.store(true, std::memory_order_release);
  Wake();
}

void SignalEvents::Wake() {
  uint64_t one = 1;
  ssize_t ignored = write(event_fd_, &one, sizeof one);
  (void)ignored;
}

void SignalEvents::WaitUntil(int64_t unix_ms) {
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  int64_t left_ns = unix_ms * 1000000 - now_ns;
  if (left_ns > 0) {
    left_ns = std::min<int64_t>(left_ns, int64_t{60} * 1000000000);
    timespec timeout{static_cast<time_t>(left_ns / 1000000000),
                     static_cast<long>(left_ns % 1000000000)};
    pollfd pfd{event_fd_, POLLIN, 0};
    ppoll(&pfd, 1, &timeout, nullptr);
  }
  uint64_t value;
  while (read(event_fd_, &value, sizeof value) > 0) {
  }
}

void SignalEvents::Wait(int64_t ms) {
  if (ms > 0) {
    pollfd pfd{event_fd_, POLLIN, 0};
    poll(&pfd, 1, static_cast<int>(std::min<int64_t>(ms, 60000)));
  }
  uint64_t value;
  while (read(event_fd_, &value, sizeof value) > 0) {
  }
}

}  // namespace warden
