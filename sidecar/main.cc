// The `warden` sidecar binary.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace {

// Overwrites with 'x', in place, the password of a URL in `arg` (scheme://user:PASSWORD@...)
// and the value of every password= in its query, so `ps` and /proc/PID/cmdline do not show a
// password given in --redis or --mysql (as mysql(1) does with -p). The parsed copies keep it.
void HideSecrets(char* arg) {
  char* scheme = std::strstr(arg, "://");
  if (scheme == nullptr) return;
  char* authority = scheme + 3;
  char* end = authority + std::strcspn(authority, "/?#");
  char* at = nullptr;
  for (char* p = authority; p < end; ++p) {
    if (*p == '@') at = p;
  }
  if (at != nullptr) {
    char* colon =
        static_cast<char*>(std::memchr(authority, ':', static_cast<size_t>(at - authority)));
    if (colon != nullptr) std::memset(colon + 1, 'x', static_cast<size_t>(at - colon - 1));
  }
  for (char* p = std::strstr(arg, "password="); p != nullptr; p = std::strstr(p, "password=")) {
    p += std::strlen("password=");
    size_t n = std::strcspn(p, "&#");
    std::memset(p, 'x', n);
    p += n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that went away must be an error, not a signal that kills the process (the Redis
  // and MariaDB sockets; `warden list | head`).
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv, argv + argc);
  std::vector<const char*> pointers;
  for (const std::string& arg : args) pointers.push_back(arg.c_str());
  for (int i = 1; i < argc; ++i) HideSecrets(argv[i]);
  warden::Cli cli(warden::Environment::System(), std::cin, std::cout, std::cerr);
  int code = cli.Run(argc, pointers.data());
  std::cout.flush();
  return code;
}
