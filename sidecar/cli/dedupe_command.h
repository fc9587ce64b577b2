#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden dedupe --table T --key COL[,COL...] [--keep lowest-id|highest-id] [--dry-run]
//  [--chunk N] [--chunk-time D] [--id-column C] [--throttle SPEC] [--json]`: deletes duplicate
// rows in chunks (Deduplicator).
class DedupeCommand : public Command {
 public:
  DedupeCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_;
  std::string table_;
  std::string key_;
  std::string keep_ = "lowest-id";
  std::string id_column_ = "id";
  bool dry_run_ = false;
  int64_t chunk_ = 2000;
  std::string chunk_time_ = "100ms";
  std::string throttle_;
  bool json_ = false;
};

}  // namespace warden
