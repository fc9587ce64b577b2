#include "cli/config_command.h"

#include <cstdio>

#include "base/errors.h"
#include "base/time_format.h"
#include "cache/cache_config.h"
#include "common/clock.h"
#include "config/config_file.h"
#include "config/settings.h"
#include "jobs/job_types.h"
#include "members/members_config.h"
#include "scheduler/job_config.h"
#include "scheduler/time_zone.h"

namespace warden {

namespace {

// "2024-03-10 03:00:00 -04:00" in the job's zone.
std::string LocalTime(int64_t unix_ms, const TimeZone& zone) {
  const int64_t s = unix_ms / 1000;
  const int32_t offset = zone.OffsetAt(s);
  const int64_t local = s + offset;
  const int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  const int64_t secs = local - days * 86400;
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld %c%02d:%02d",
                static_cast<long long>(year), month, day, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs % 3600 / 60), static_cast<long long>(secs % 60),
                offset < 0 ? '-' : '+', std::abs(offset) / 3600, std::abs(offset) % 3600 / 60);
  return buf;
}

}  // namespace

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
  MembersSettings::Load(path);
  CacheConfig::Load(path);
  const SchedulerConfig scheduler = SchedulerConfig::Load(path, BuiltinJobTypes());
  ctx_.out() << "config OK: " << path << '\n';
  // Every job's next five fire times, so a schedule can be checked by eye.
  const int64_t now = SystemNowMs();
  for (const JobSpec& job : scheduler.jobs) {
    ctx_.out() << "job " << job.name << " (" << job.type << "): \"" << job.schedule_text << "\" "
               << job.time_zone << ", overrun " << OverrunPolicyName(job.overrun)
               << (job.enabled ? "" : ", disabled") << '\n';
    int64_t t = now;
    for (int i = 0; i < 5; ++i) {
      auto next = job.schedule->Next(t);
      if (!next) break;
      ctx_.out() << "  " << FormatIsoUtcMs(*next);
      if (!job.schedule->zone().is_utc())
        ctx_.out() << "  " << LocalTime(*next, job.schedule->zone());
      ctx_.out() << '\n';
      t = *next;
    }
  }
  return kExitOk;
}

}  // namespace warden
