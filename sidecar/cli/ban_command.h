#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command_context.h"

namespace warden {

// `warden ban <ip|cidr>... [--ttl 1h] [--reason TEXT]` and
// `warden ban --file LIST [--source feed|manual] [--skip-invalid]`.
class BanCommand {
 public:
  BanCommand(CLI::App& parent, CommandContext& context);
  bool selected() const { return app_->parsed(); }
  int Run();

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
