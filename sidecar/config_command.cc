#include "config_command.h"

#include "config_file.h"
#include "errors.h"
#include "settings.h"

namespace warden {

ConfigCommand::ConfigCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("config", "Work with the configuration file");
  app_->require_subcommand(1);
  check_ = app_->add_subcommand("check", "Validate the configuration file");
  check_
      ->add_option("--config", config_,
                   "The file to check (default: WARDEN_CONFIG, else /etc/warden/warden.toml)")
      ->type_name("PATH");
}

int ConfigCommand::Run() {
  SettingsFlags flags = ctx_.flags();
  if (!config_.empty()) flags.config = config_;
  const std::string path = Settings::LocateConfig(flags, ctx_.env(), ctx_.default_config_path());
  if (path.empty()) {
    throw UsageError("no config file to check: pass --config PATH or set WARDEN_CONFIG (" +
                     ctx_.default_config_path() + " does not exist)");
  }
  ConfigFile::Load(path);
  ctx_.out() << "config OK: " << path << '\n';
  return kExitOk;
}

}  // namespace warden
