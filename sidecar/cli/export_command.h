#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden export --format nginx|plain|json [--output FILE]`: the live blacklist as a static
// nginx deny list, a plain list, or JSON. --output replaces FILE atomically.
class ExportCommand : public Command {
 public:
  ExportCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  std::string format_ = "nginx";
  std::string output_;
  bool json_ = false;
};

}  // namespace warden
