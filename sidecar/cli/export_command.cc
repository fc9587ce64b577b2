#include "cli/export_command.h"

#include <sstream>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "blacklist/blacklist_store.h"
#include "blacklist/entry_formatter.h"

namespace warden {

ExportCommand::ExportCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("export", "Write the blacklist as nginx deny rules, a list or JSON");
  app_->add_option("--format", format_, "nginx (deny rules, the default), plain or json")
      ->check(CLI::IsMember({"nginx", "plain", "json"}));
  app_->add_flag("--json", json_, "Same as --format json");
  app_->add_option("--output,-o", output_, "Write to FILE (replaced atomically) instead of stdout")
      ->type_name("FILE");
}

int ExportCommand::Run() {
  if (json_) format_ = "json";
  const Settings& settings = ctx_.settings();
  RedisConnection conn = ctx_.Connect();
  BlacklistStore store(conn, settings.schema());
  const int64_t now_ms = store.ServerNowMs();
  std::vector<BlacklistEntry> entries =
      store.ReadLive(now_ms, [this](const std::string& warning) { ctx_.Warn(warning); });

  std::ostringstream text;
  if (format_ == "json") {
    EntryFormatter::WriteJson(entries, now_ms, text);
  } else if (format_ == "plain") {
    EntryFormatter::WritePlain(entries, text);
  } else {
    EntryFormatter::WriteNginx(entries, now_ms, text);
  }

  if (output_.empty() || output_ == "-") {
    ctx_.out() << text.str() << std::flush;
  } else {
    WriteFileAtomically(output_, text.str());
    ctx_.err() << "wrote " << entries.size() << " entries to " << output_ << '\n';
  }
  return kExitOk;
}

}  // namespace warden
