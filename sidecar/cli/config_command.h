#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command_context.h"

namespace warden {

// `warden config check [--config PATH]`: parses and validates the config file.
class ConfigCommand {
 public:
  ConfigCommand(CLI::App& parent, CommandContext& context);
  bool selected() const { return app_->parsed(); }
  int Run();

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  CLI::App* check_;
  std::string config_;
};

}  // namespace warden
