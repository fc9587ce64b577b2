#include "cli/allow_command.h"

#include "base/duration.h"
#include "base/errors.h"
#include "blacklist/ban_request.h"
#include "blacklist/blacklist_store.h"
#include "blacklist/entry_input.h"

namespace warden {

namespace {

bool IsAllowValue(const std::optional<std::string>& value) {
  if (!value) return false;
  auto entry = BlacklistEntry::Decode("0.0.0.0/0", *value, nullptr);
  return entry && entry->source == EntrySource::kAllow;
}

}  // namespace

AllowCommand::AllowCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand(
      "allow",
      "Put IP addresses or networks on the fleet's allow list: never blocked, limited or "
      "auto-banned (like warden_allow, on every node)");
  app_->add_option("entries", entries_, "IP addresses or CIDR networks")
      ->type_name("IP|CIDR")
      ->required();
  app_->add_option("--ttl", ttl_,
                   "How long the entry lasts: 30s, 10m, 1h30m, 7d; 0 or never: permanent "
                   "(default)")
      ->type_name("TTL");
  app_->add_option("--reason", reason_, "Why; shown in `warden list` and $warden_reason");
  app_->add_flag("--remove", remove_, "Take these entries off the allow list instead");
  app_->add_flag("--force", force_, "Allow networks wider than an IPv4 /8 or an IPv6 /16");
}

int AllowCommand::Run() {
  if (remove_ && (!ttl_.empty() || !reason_.empty())) {
    throw UsageError("allow --remove takes entries only, not --ttl or --reason");
  }
  BanRequest request;
  request.SetTtlAndReason(ttl_, reason_);
  request.cidrs = EntryInput::FromArgs(entries_, !force_ && !remove_);
  request.source = EntrySource::kAllow;
  request.added_by = ctx_.env().Actor();

  RedisConnection conn = ctx_.Connect();
  BlacklistStore store(conn, ctx_.settings().schema());
  if (remove_) {
    std::vector<std::string> names;
    for (const Cidr& cidr : request.cidrs) names.push_back(cidr.ToString());
    const auto values = store.Get(names);
    for (size_t i = 0; i < names.size(); ++i) {
      // Only an allow entry: a ban at the same network stays (that is `warden unban`).
      if (!IsAllowValue(values[i])) {
        ctx_.out() << names[i] << ": not on the allow list\n";
        continue;
      }
      store.Apply({{BlacklistChange::Op::kDel, names[i], 0, ""}});
      ctx_.out() << "removed " << names[i] << " from the allow list\n";
    }
    return kExitOk;
  }
  BanRequest::Result result = request.Apply(store);
  for (size_t i = 0; i < result.names.size(); ++i) {
    std::string text = "allowed " + result.names[i];
    text += request.ttl_ms == 0 ? " permanently" : " for " + FormatDuration(request.ttl_ms);
    if (!reason_.empty()) text += ": " + reason_;
    if (result.previous[i] && !IsAllowValue(result.previous[i])) text += " (replaced its ban)";
    ctx_.out() << text << '\n';
  }
  return kExitOk;
}

}  // namespace warden
