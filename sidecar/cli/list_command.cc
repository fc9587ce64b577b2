#include "cli/list_command.h"

#include "base/errors.h"
#include "blacklist/blacklist_store.h"
#include "blacklist/entry_formatter.h"

namespace warden {

ListCommand::ListCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("list", "Show the blacklist (expired entries left out)");
  app_->add_flag("--json", json_, "Print a JSON array instead of a table");
  app_->add_option("--source", source_, "Only entries from this source")
      ->check(CLI::IsMember({"manual", "autoban", "feed", "challenge", "allow"}));
  app_->add_option("--limit", limit_, "Show at most N entries (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
}

int ListCommand::Run() {
  const Settings& settings = ctx_.settings();
  RedisConnection conn = ctx_.Connect();
  BlacklistStore store(conn, settings.schema());
  const int64_t now_ms = store.ServerNowMs();
  std::vector<BlacklistEntry> entries =
      store.ReadLive(now_ms, [this](const std::string& warning) { ctx_.Warn(warning); });

  if (!source_.empty()) {
    const EntrySource wanted = EntrySourceFromName(source_);
    std::erase_if(entries, [wanted](const BlacklistEntry& e) { return e.source != wanted; });
  }
  const size_t total = entries.size();
  if (limit_ > 0 && entries.size() > limit_) entries.resize(limit_);

  if (json_) {
    EntryFormatter::WriteJson(entries, now_ms, ctx_.out());
  } else {
    EntryFormatter::WriteTable(entries, now_ms, ctx_.out());
  }
  if (entries.size() < total) {
    ctx_.Warn("showing " + std::to_string(entries.size()) + " of " + std::to_string(total) +
              " entries");
  }
  return kExitOk;
}

}  // namespace warden
