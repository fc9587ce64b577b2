#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden top [--window 5m] [--limit 20] [--by ip|country] [--json]`: who sent the most
// requests across the fleet, from the per-minute counts the nginx nodes flush to Redis.
class TopCommand : public Command {
 public:
  TopCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  std::string window_ = "5m";
  size_t limit_ = 20;
  std::string by_ = "ip";
  bool json_ = false;
};

}  // namespace warden
