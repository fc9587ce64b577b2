#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden sync --accept-empty`: the nodes that hold their blacklist against a reload that would
// drop most of it (Redis restarted empty, flushed, or failed over to an empty replica) accept
// Redis's data set as it is now, and drop the entries only they had.
class SyncCommand : public Command {
 public:
  SyncCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_ = nullptr;
  bool accept_empty_ = false;
};

}  // namespace warden
