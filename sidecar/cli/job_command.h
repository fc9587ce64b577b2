#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/command.h"
#include "cli/command_context.h"
#include "scheduler/job_config.h"

namespace warden {

// `warden job list|run|history|deadletters`: the scheduler's jobs from the command line.
//   list                       every [[job]]: schedule, next fire time, runs going on across
//                              the fleet, the last result (Redis)
//   run NAME [--wait]          a run now, through the running daemon's control endpoint
//       NAME --standalone      ... or in this process (same lease, history and alerts)
//   history [NAME] [--limit]   the latest runs from MariaDB
//   deadletters NAME [--replay] [--all]  records the sink rejected; --replay sends them again
// Every listing takes --json.
class JobCommand : public Command {
 public:
  JobCommand(CLI::App& parent, CommandContext& context);
  bool selected() const override { return app_->parsed(); }
  int Run() override;

 private:
  int List();
  int RunJob();
  int RunThroughDaemon(const SchedulerConfig& config, const JobSpec& job);
  int RunStandalone(const SchedulerConfig& config, const JobSpec& job);
  int History();
  int DeadLetters();
  SchedulerConfig LoadConfig();

  CommandContext& ctx_;
  CLI::App* app_;
  CLI::App* list_;
  CLI::App* run_;
  CLI::App* history_;
  CLI::App* deadletters_;
  bool json_ = false;
  std::string name_;
  bool standalone_ = false;
  bool wait_ = false;
  int limit_ = 20;
  bool replay_ = false;
  bool all_ = false;
};

}  // namespace warden
