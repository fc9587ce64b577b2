#include "cli/unban_command.h"

#include "base/errors.h"
#include "blacklist/blacklist_store.h"
#include "blacklist/entry_input.h"

namespace warden {

UnbanCommand::UnbanCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("unban", "Take IP addresses or networks off the blacklist");
  app_->add_option("entries", entries_, "IP addresses or CIDR networks, as they were banned")
      ->type_name("IP|CIDR");
  app_->add_option("--file", file_, "Also take off every entry of this list ('-' reads stdin)")
      ->type_name("FILE|-");
  app_->add_flag("--skip-invalid", skip_invalid_,
                 "With --file: use the valid lines even if some are invalid");
}

int UnbanCommand::Run() {
  if (entries_.empty() && file_.empty()) {
    throw UsageError("unban: give at least one IP address or network, or --file LIST");
  }
  std::vector<Cidr> cidrs = EntryInput::FromArgs(entries_, /*reject_broad=*/false);
  FeedParser::Result list;
  if (!file_.empty()) {
    list =
        EntryInput::FromFile(file_, ctx_.in(), /*reject_broad=*/false, skip_invalid_, ctx_.err());
  }

  const Settings& settings = ctx_.settings();
  RedisConnection conn = ctx_.Connect();
  BlacklistStore store(conn, settings.schema());

  // Entries named on the command line are reported one by one.
  for (const Cidr& cidr : cidrs) {
    const std::string name = cidr.ToString();
    auto result = store.Apply({{BlacklistChange::Op::kDel, name, 0, ""}});
    if (result.changed > 0) {
      ctx_.out() << "unbanned " << name << '\n';
    } else {
      ctx_.out() << name << ": not on the blacklist\n";
    }
  }
  // A list is reported as a summary.
  if (!file_.empty()) {
    std::vector<BlacklistChange> changes;
    changes.reserve(list.entries.size());
    for (const FeedParser::Entry& item : list.entries) {
      changes.push_back({BlacklistChange::Op::kDel, item.cidr.ToString(), 0, ""});
    }
    auto result = store.Apply(changes);
    ctx_.out() << "unbanned " << result.changed << (result.changed == 1 ? " entry" : " entries")
               << " from " << EntryInput::DisplayName(file_) << " ("
               << static_cast<int64_t>(changes.size()) - result.changed
               << " were not on the blacklist)\n";
  }

  try {
    store.PurgeExpired(store.ServerNowMs(), 1000);
  } catch (const RedisError& e) {
    ctx_.Warn(std::string("could not purge expired bans: ") + e.what());
  }
  return kExitOk;
}

}  // namespace warden
