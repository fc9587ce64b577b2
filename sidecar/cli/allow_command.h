#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden allow <ip|cidr>... [--ttl 1h] [--reason TEXT]` and `warden allow --remove <ip|cidr>...`:
// the fleet's allow list, kept with the blacklist (source "allow"): never blocked, limited or
// auto-banned on any node, like warden_allow; the most specific entry covering an address wins.
class AllowCommand : public Command {
 public:
  AllowCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  std::vector<std::string> entries_;
  std::string ttl_;
  std::string reason_;
  bool remove_ = false;
  bool force_ = false;
};

}  // namespace warden
