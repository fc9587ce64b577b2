#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden ban <ip|cidr>... [--ttl 1h] [--reason TEXT]` and
// `warden ban --file LIST [--source feed|manual] [--skip-invalid]`.
class BanCommand : public Command {
 public:
  BanCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  int RunArgs(int64_t ttl_ms);
  int RunFile(int64_t ttl_ms);

  CommandContext& ctx_;
  CLI::App* app_;
  std::vector<std::string> entries_;
  std::string ttl_;
  std::string reason_;
  std::string file_;
  std::string source_;
  bool skip_invalid_ = false;
  bool force_ = false;
};

}  // namespace warden
