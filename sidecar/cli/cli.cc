#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "cli/allow_command.h"
#include "cli/ban_command.h"
#include "cli/behaviour_command.h"
#include "cli/cache_command.h"
#include "cli/command_context.h"
#include "cli/config_command.h"
#include "cli/daemon_command.h"
#include "cli/dedupe_command.h"
#include "cli/export_command.h"
#include "cli/job_command.h"
#include "cli/list_command.h"
#include "cli/members_command.h"
#include "cli/migrate_keys_command.h"
#include "cli/status_command.h"
#include "cli/sync_command.h"
#include "cli/top_command.h"
#include "cli/unban_command.h"

namespace warden {

namespace {

std::string OneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

using CommandFactory = std::unique_ptr<Command> (*)(CLI::App&, CommandContext&);

template <class T>
std::unique_ptr<Command> Make(CLI::App& app, CommandContext& ctx) {
  return std::make_unique<T>(app, ctx);
}

// Every command, in the order `warden --help` lists them: adding one is one line here.
constexpr CommandFactory kCommands[] = {
    Make<BanCommand>,    Make<UnbanCommand>,  Make<AllowCommand>,  Make<ListCommand>,
    Make<ExportCommand>, Make<TopCommand>,    Make<StatusCommand>, Make<BehaviourCommand>,
    Make<ConfigCommand>, Make<DaemonCommand>, Make<JobCommand>,    Make<MembersCommand>,
    Make<CacheCommand>,  Make<DedupeCommand>, Make<SyncCommand>,   Make<MigrateKeysCommand>,
};

}  // namespace

int Cli::Run(int argc, const char* const* argv) {
  CommandContext ctx(env_, in_, out_, err_, default_config_path_);

  CLI::App app("Warden sidecar: manage the Redis-backed blacklist that nginx enforces.", "warden");
  app.set_version_flag("--version", kVersion);
  app.fallthrough();  // global options are accepted after the command too
  app.require_subcommand(1);
  app.footer(
      "Connection: --redis > WARDEN_REDIS > config [redis] url > redis://127.0.0.1:6379/0.\n"
      "MariaDB: --mysql > WARDEN_MYSQL > config [mysql] url (no default).\n"
      "Config file: --config > WARDEN_CONFIG > /etc/warden/warden.toml (if it exists).\n"
      "Exit codes: 0 ok, 1 Redis, MariaDB or I/O failure, 2 bad input or configuration.");

  std::string redis, mysql, prefix, timeout, config;
  auto* redis_opt = app.add_option("--redis", redis,
                                   "Redis: redis://[[user]:password@]host[:port][/db], rediss://"
                                   "...?tls_ca=FILE, unix:///path/redis.sock?db=N or "
                                   "sentinel://[user:password@]h1:26379,h2/MASTER?db=N "
                                   "(env WARDEN_REDIS; docs/topology.md)")
                        ->type_name("URL");
  auto* mysql_opt = app.add_option("--mysql", mysql,
                                   "MariaDB/MySQL URL: mysql://user:password@host[:port]/db or "
                                   "mysql://user:password@/db?socket=/path (env WARDEN_MYSQL)")
                        ->type_name("URL");
  auto* prefix_opt = app.add_option("--prefix", prefix, "Key prefix in Redis (default warden:)")
                         ->type_name("PREFIX");
  auto* timeout_opt =
      app.add_option("--timeout", timeout, "Connect and command timeout (default 2s)")
          ->type_name("DURATION");
  auto* config_opt =
      app.add_option("--config", config, "Config file (env WARDEN_CONFIG)")->type_name("PATH");

  std::vector<std::unique_ptr<Command>> commands;
  for (const CommandFactory make : kCommands) commands.push_back(make(app, ctx));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out_, err_);  // --help, --version
    std::string message = OneLine(e.what());
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
        message.find("subcommand") != std::string::npos) {
      std::string names;
      for (const CLI::App* sub :
           std::as_const(app).get_subcommands([](const CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
      }
      message = "a command is required (" + names + ")";
    }
    err_ << "warden: " << message << " (see warden --help)\n";
    return kExitUsage;
  }

  SettingsFlags& flags = ctx.flags();
  if (redis_opt->count() > 0) flags.redis = redis;
  if (mysql_opt->count() > 0) flags.mysql = mysql;
  if (prefix_opt->count() > 0) flags.prefix = prefix;
  if (timeout_opt->count() > 0) flags.timeout = timeout;
  if (config_opt->count() > 0) flags.config = config;

  try {
    for (const std::unique_ptr<Command>& command : commands) {
      if (command->selected()) return command->Run();
    }
    err_ << "warden: a command is required (see warden --help)\n";
    return kExitUsage;
  } catch (const Error& e) {
    err_ << "warden: " << OneLine(e.what()) << '\n';
    return e.exit_code();
  } catch (const std::exception& e) {
    err_ << "warden: internal error: " << OneLine(e.what()) << '\n';
    return kExitFailure;
  }
}

}  // namespace warden
