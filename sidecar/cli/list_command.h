#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden list [--json] [--source S] [--limit N]`: the live (unexpired) blacklist.
class ListCommand : public Command {
 public:
  ListCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  bool json_ = false;
  std::string source_;
  size_t limit_ = 0;
};

}  // namespace warden
