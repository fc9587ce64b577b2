#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command_context.h"

namespace warden {

// `warden list [--json] [--source S] [--limit N]`: the live (unexpired) blacklist.
class ListCommand {
 public:
  ListCommand(CLI::App& parent, CommandContext& context);
  bool selected() const { return app_->parsed(); }
  int Run();

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  bool json_ = false;
  std::string source_;
  size_t limit_ = 0;
};

}  // namespace warden
