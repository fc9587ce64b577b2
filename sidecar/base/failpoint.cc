#include "base/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace warden {

namespace {

struct Armed {
  std::string name;  // empty: no failpoint
  long hit_at = 1;
  std::string wait_for;  // empty: SIGKILL
};

const Armed& Config() {
  static const Armed armed = [] {
    Armed a;
    const char* text = std::getenv("WARDEN_FAILPOINT");
    if (text == nullptr || *text == '\0') return a;
    std::string spec(text);
    const size_t wait = spec.find(":wait=");
    if (wait != std::string::npos) {
      a.wait_for = spec.substr(wait + 6);
      spec.resize(wait);
    }
    const size_t at = spec.find('@');
    a.name = spec.substr(0, at);
    if (at != std::string::npos)
      a.hit_at = std::max(1L, std::strtol(spec.c_str() + at + 1, nullptr, 10));
    return a;
  }();
  return armed;
}

std::atomic<long> hits{0};

}  // namespace

void Failpoint(std::string_view name) {
  const Armed& armed = Config();
  if (armed.name.empty() || armed.name != name) return;
  const long hit = hits.fetch_add(1) + 1;
  if (hit < armed.hit_at) return;
  if (!armed.wait_for.empty()) {
    if (hit > armed.hit_at) return;
    std::ofstream(armed.wait_for + ".waiting").put('\n');
    while (::access(armed.wait_for.c_str(), F_OK) != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return;
  }
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace warden
