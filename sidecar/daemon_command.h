#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "command_context.h"

namespace warden {

// `warden daemon [--log-format text|json]`: runs the Daemon until SIGTERM or SIGINT.
class DaemonCommand {
 public:
  DaemonCommand(CLI::App& parent, CommandContext& context);
  bool selected() const { return app_->parsed(); }
  int Run();

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  std::string log_format_ = "text";
  std::string interval_ = "1s";
};

}  // namespace warden
