#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden daemon [--log-format text|json] [--interval D]`: runs the Daemon (the job scheduler
// and the expired-ban purge) until SIGTERM or SIGINT; SIGHUP reloads the config file.
class DaemonCommand : public Command {
 public:
  DaemonCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  CLI::Option* interval_opt_ = nullptr;
  std::string log_format_ = "text";
  std::string interval_ = "1s";
};

}  // namespace warden
