#include "daemon_command.h"

#include <csignal>

#include "daemon.h"
#include "duration.h"
#include "errors.h"
#include "logger.h"
#include "stop_signal.h"

namespace warden {

DaemonCommand::DaemonCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("daemon", "Run the background service (purges expired bans)");
  app_->add_option("--log-format", log_format_, "Log lines as text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  app_->add_option("--interval", interval_, "How often to purge expired bans (default 1s)")
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
  options.purge_interval_ms = *interval_ms;

  Logger logger(format, ctx_.err());
  StopSignal stop;
  stop.HandleSignals({SIGTERM, SIGINT});
  Daemon daemon(options, logger, stop);
  return daemon.Run();
}

}  // namespace warden
