#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden migrate-keys --from URL [--dry-run]`: copies Warden's lasting state from another Redis
// deployment (same --prefix) into this one, under this one's key names: from one server to a
// Redis Cluster (whose names carry hash tags, docs/redis-keys.md) or back. The blacklist
// (entries not expired, values and expiries as they are, through the apply script, so nodes
// following this deployment see them), the automatic-ban counters with their time to live,
// and each job's claimed fire time and fencing counter (never lowered). What rebuilds on its
// own within seconds is not copied: limit buckets, traffic counts, heartbeats, leases; warmed
// cache values are recomputed by `warden cache warm`.
class MigrateKeysCommand : public Command {
 public:
  MigrateKeysCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  CommandContext& ctx_;
  CLI::App* app_ = nullptr;
  std::string from_;
  bool dry_run_ = false;
};

}  // namespace warden
