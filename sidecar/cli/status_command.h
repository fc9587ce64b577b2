#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden status`: what this host can know of the Redis deployment now: the primary it reaches
// and how it found it (direct or through which Sentinel), the replicas the primary reports, the
// last failover a sidecar saw (docs/topology.md), the blacklist's version in Redis, and for each
// nginx node given with --node its copy's version and sync lag, read from its metrics page.
class StatusCommand : public Command {
 public:
  StatusCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_ = nullptr;
  std::vector<std::string> nodes_;
  bool json_ = false;
};

}  // namespace warden
