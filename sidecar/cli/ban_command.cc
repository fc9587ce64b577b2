#include "cli/ban_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/duration.h"
#include "base/errors.h"
#include "blacklist/ban_request.h"
#include "blacklist/blacklist_store.h"
#include "blacklist/entry_input.h"

namespace warden {

namespace {

constexpr int64_t kHousekeepingPurgeLimit = 1000;

std::string Describe(const std::string& entry, int64_t ttl_ms, const std::string& reason) {
  std::string text = "banned " + entry;
  text += ttl_ms == 0 ? " permanently" : " for " + FormatDuration(ttl_ms);
  if (!reason.empty()) text += ": " + reason;
  return text;
}

// Expired bans are deleted by the daemon; doing a little of it here too is nearly free and
// keeps the list clean where no daemon runs.
void Housekeeping(BlacklistStore& store, int64_t now_ms, CommandContext& ctx) {
  try {
    store.PurgeExpired(now_ms, kHousekeepingPurgeLimit);
  } catch (const RedisError& e) {
    ctx.Warn(std::string("could not purge expired bans: ") + e.what());
  }
}

}  // namespace

BanCommand::BanCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("ban", "Put IP addresses or networks on the blacklist");
  app_->add_option("entries", entries_,
                   "IP addresses or CIDR networks (1.2.3.4, 10.0.0.0/8, 2001:db8::/32)")
      ->type_name("IP|CIDR");
  app_->add_option("--ttl", ttl_,
                   "How long the ban lasts: 30s, 10m, 1h30m, 7d; 0 or never: permanent (default)")
      ->type_name("TTL");
  app_->add_option("--reason", reason_, "Why; shown in `warden list` and $warden_reason");
  app_->add_option("--file", file_,
                   "Import a list instead: one entry per line, '#' comments; '-' reads stdin")
      ->type_name("FILE|-");
  app_->add_option("--source", source_,
                   "Recorded source: manual (default for arguments) or feed (default for --file); "
                   "challenge: challenged instead of refused")
      ->check(CLI::IsMember({"manual", "feed", "challenge"}));
  app_->add_flag("--skip-invalid", skip_invalid_,
                 "With --file: import the valid lines even if some are invalid");
  app_->add_flag("--force", force_, "Allow networks wider than an IPv4 /8 or an IPv6 /16");
}

int BanCommand::Run() {
  if (entries_.empty() && file_.empty()) {
    throw UsageError("ban: give at least one IP address or network, or --file LIST");
  }
  if (!entries_.empty() && !file_.empty()) {
    throw UsageError("ban: give entries or --file LIST, not both");
  }
  BanRequest checked;  // the same checks as every ban given by hand
  checked.SetTtlAndReason(ttl_, reason_);
  return file_.empty() ? RunArgs(checked.ttl_ms) : RunFile(checked.ttl_ms);
}

int BanCommand::RunArgs(int64_t ttl_ms) {
  BanRequest request;
  request.cidrs = EntryInput::FromArgs(entries_, !force_);
  request.ttl_ms = ttl_ms;
  request.source = EntrySourceFromName(source_.empty() ? "manual" : source_);
  request.added_by = ctx_.env().Actor();
  request.reason = reason_;
  RedisConnection conn = ctx_.Connect();
  BlacklistStore store(conn, ctx_.settings().schema());
  BanRequest::Result result = request.Apply(store);
  for (size_t i = 0; i < result.names.size(); ++i) {
    ctx_.out() << Describe(result.names[i], ttl_ms, reason_)
               << (result.replaced[i] ? " (replaced an existing ban)" : "") << '\n';
  }
  Housekeeping(store, result.now_ms, ctx_);
  return kExitOk;
}

int BanCommand::RunFile(int64_t ttl_ms) {
  const auto started = std::chrono::steady_clock::now();
  FeedParser::Result list =
      EntryInput::FromFile(file_, ctx_.in(), !force_, skip_invalid_, ctx_.err());

  const Settings& settings = ctx_.settings();
  RedisConnection conn = ctx_.Connect();
  BlacklistStore store(conn, settings.schema());

  const int64_t now_ms = store.ServerNowMs();
  BlacklistEntry entry;
  entry.expires_ms = ttl_ms == 0 ? 0 : now_ms + ttl_ms;
  entry.added_ms = now_ms;
  entry.source = EntrySourceFromName(source_.empty() ? "feed" : source_);
  entry.added_by = ctx_.env().Actor();
  entry.reason = reason_;

  std::vector<BlacklistChange> changes;
  changes.reserve(list.entries.size());
  for (const FeedParser::Entry& item : list.entries) {
    entry.cidr = item.cidr;
    changes.push_back(
        {BlacklistChange::Op::kAdd, item.cidr.ToString(), entry.expires_ms, entry.EncodeValue()});
  }

  BlacklistStore::ApplyOptions options;
  const bool show_progress =
      &ctx_.err() == &std::cerr && isatty(STDERR_FILENO) && changes.size() >= 100000;
  if (show_progress) {
    size_t next_report = 0;
    options.progress = [&, total = changes.size()](size_t done) {
      if (done < next_report && done != total) return;
      next_report = done + total / 50;
      ctx_.err() << "\rimporting: " << done << " of " << total << std::flush;
    };
  }
  const int64_t count_before = store.Count();
  store.Apply(changes, options);
  const int64_t count_after = store.Count();
  if (show_progress) ctx_.err() << "\r\033[K" << std::flush;
  Housekeeping(store, now_ms, ctx_);

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f", seconds);
  ctx_.out() << "imported " << changes.size() << (changes.size() == 1 ? " entry" : " entries")
             << " (" << std::max<int64_t>(0, count_after - count_before) << " new) in " << elapsed
             << " s";
  if (list.duplicates > 0) ctx_.out() << "; " << list.duplicates << " repeated lines ignored";
  ctx_.out() << '\n';
  return kExitOk;
}

}  // namespace warden
