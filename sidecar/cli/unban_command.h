#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden unban <ip|cidr>... [--file LIST]`: takes entries off the blacklist.
class UnbanCommand : public Command {
 public:
  UnbanCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  std::vector<std::string> entries_;
  std::string file_;
  bool skip_invalid_ = false;
};

}  // namespace warden
