#include "cli/daemon_command.h"

#include "base/duration.h"
#include "base/errors.h"
#include "base/logger.h"
#include "base/signal_events.h"
#include "daemon/daemon.h"
#include "jobs/job_types.h"
#include "jobs/mysql_job_support.h"
#include "scheduler/job_config.h"

namespace warden {

DaemonCommand::DaemonCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand(
      "daemon",
      "Run the background service: the job scheduler, the expired-ban purge, and the "
      "operator's console on [daemon] listen");
  app_->add_option("--log-format", log_format_, "Log lines as text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  interval_opt_ = app_->add_option("--interval", interval_,
                                   "How often to purge expired bans (default: [daemon] "
                                   "purge_interval, else 1s)")
                      ->type_name("DURATION");
}

int DaemonCommand::Run() {
  Logger::Format format = Logger::Format::kText;
  Logger::ParseFormat(log_format_, &format);
  std::string error;
  auto interval_ms = ParseDurationMs(interval_, &error);
  if (!interval_ms) throw UsageError("--interval: " + error);
  if (*interval_ms < 10) throw UsageError("--interval must be at least 10ms");

  const Settings& settings = ctx_.settings();
  Daemon::Options options;
  options.redis = settings.redis();
  options.timeout_ms = settings.timeout_ms();
  options.prefix = settings.prefix();
  options.config_path = settings.config_path();
  options.flags = ctx_.flags();
  options.config = options.config_path.empty()
                       ? SchedulerConfig::Empty()
                       : SchedulerConfig::Load(options.config_path, BuiltinJobTypes());
  if (options.config.daemon.node.empty()) options.config.daemon.node = "warden";
  options.purge_interval_ms =
      interval_opt_->count() > 0 ? *interval_ms : options.config.daemon.purge_interval_ms;

  // MariaDB, when configured: run history, sql jobs, http_sync checkpoints and dead letters.
  std::unique_ptr<MysqlJobSupport> mysql = MysqlJobSupport::Create(settings);
  if (mysql) {
    options.configure_runner = [&mysql](JobRunner::Deps& deps, Logger& log, Metrics& metrics,
                                        BreakerRegistry& breakers) {
      mysql->Configure(deps, log, metrics, breakers);
    };
  }

  Logger logger(format, ctx_.err());
  SignalEvents signals;
  signals.HandleSignals();
  Daemon daemon(std::move(options), logger, signals);
  return daemon.Run();
}

}  // namespace warden
