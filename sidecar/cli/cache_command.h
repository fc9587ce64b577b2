#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden cache warm [NAME] [--force]` and `warden cache show NAME [--json]`: the [[cache]]
// entries of the config file, kept warm in Redis (docs/cache.md).
class CacheCommand : public Command {
 public:
  CacheCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  int Warm();
  int Show();

  CommandContext& ctx_;
  CLI::App* app_;
  CLI::App* warm_;
  CLI::App* show_;
  std::string name_;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace warden
