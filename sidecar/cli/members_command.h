#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_context.h"

namespace warden {

// `warden members migrate|check|restore`: moves long-inactive members to the archive table and
// back (docs/members.md). Table and column names come from [members] in the config file.
//   warden members migrate [--inactive-for 365d] [--chunk N] [--chunk-time D] [--dry-run]
//                          [--max-rows N] [--throttle SPEC] [--verify] [--fresh] [--json]
//                          [--lock-wait D] [--fix-archive-keys] [--max-impact]
//   warden members check [--inactive-for D] [--replica URL] [--json]
//   warden members restore <ID | --email E> [--keep-login-time] [--rename EMAIL]
class MembersCommand : public Command {
 public:
  MembersCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  int Migrate();
  int Check();
  int Restore();

  CommandContext& ctx_;
  CLI::App* app_;
  CLI::App* migrate_;
  CLI::App* check_;
  CLI::App* restore_;

  // migrate
  std::string inactive_for_;
  int64_t chunk_ = 0;
  std::string chunk_time_;
  int64_t max_chunk_ = 0;
  int64_t parallel_ = 0;
  bool dry_run_ = false;
  int64_t max_rows_ = 0;
  std::string throttle_;
  std::vector<std::string> replicas_;
  std::string max_replica_lag_;
  bool verify_ = false;
  bool fresh_ = false;
  bool json_ = false;
  std::string lock_wait_;
  bool fix_archive_keys_ = false;
  bool max_impact_ = false;
  // restore
  std::string restore_id_;
  std::string email_;
  bool keep_login_time_ = false;
  std::string rename_;
};

}  // namespace warden
