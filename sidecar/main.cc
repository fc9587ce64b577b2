// The `warden` sidecar binary.
#include <csignal>
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // hiredis writes to sockets with write(2): a peer that went away must be an error, not a
  // signal that kills the process. The same holds for `warden list | head`.
  std::signal(SIGPIPE, SIG_IGN);
  warden::Cli cli(warden::Environment::System(), std::cin, std::cout, std::cerr);
  int code = cli.Run(argc, argv);
  std::cout.flush();
  return code;
}
