#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden config check [--config PATH]`: parses and validates the config file.
class ConfigCommand : public Command {
 public:
  ConfigCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  CLI::App* check_;
  std::string config_;
};

}  // namespace warden
