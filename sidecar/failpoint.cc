#include "failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace warden {

namespace {

struct Armed {
  std::string name;  // empty: no failpoint
  long hit_at = 1;
};

const Armed& Config() {
  static const Armed armed = [] {
    Armed a;
    const char* text = std::getenv("WARDEN_FAILPOINT");
    if (text == nullptr || *text == '\0') return a;
    std::string spec(text);
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
  if (hits.fetch_add(1) + 1 < armed.hit_at) return;
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

}  // namespace warden
