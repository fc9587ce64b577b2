#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden behaviour status [--rule NAME] [--limit 20] [--json]`: the fullest warden_behaviour
// buckets across the fleet, from what the nginx workers push to Redis every second
// (`bh:hot:<rule>`, docs/behaviour.md).
class BehaviourCommand : public Command {
 public:
  BehaviourCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  CLI::App* status_;
  std::string rule_;
  size_t limit_ = 20;
  bool json_ = false;
};

}  // namespace warden
