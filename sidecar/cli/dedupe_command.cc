#include "cli/dedupe_command.h"

#include <unistd.h>

#include <csignal>

#include "base/duration.h"
#include "base/errors.h"
#include "base/progress_printer.h"
#include "base/stop_signal.h"
#include "dedupe/deduplicator.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

namespace {

std::string Fmt(int64_t n) { return ProgressPrinter::Thousands(n); }

}  // namespace

DedupeCommand::DedupeCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("dedupe", "Delete duplicate rows in chunks, keeping one per key");
  app_->add_option("--table", table_, "The table")->type_name("TABLE")->required();
  app_->add_option("--key", key_, "The column(s) that should be unique, comma-separated")
      ->type_name("COL[,COL]")
      ->required();
  app_->add_option("--keep", keep_, "Which row of each key stays (default lowest-id)")
      ->check(CLI::IsMember({"lowest-id", "highest-id"}));
  app_->add_option("--id-column", id_column_, "The integer primary key (default id)")
      ->type_name("COL");
  app_->add_flag("--dry-run", dry_run_, "Count the duplicates; delete nothing");
  app_->add_option("--chunk", chunk_, "Rows scanned in the first chunk (default 2000)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  app_->add_option("--chunk-time", chunk_time_,
                   "Adapt the chunk size so a chunk takes this long (default 100ms; 0: fixed)")
      ->type_name("DURATION");
  app_->add_option(
          "--throttle", throttle_,
          "Pause between chunks: threads_running=N,sleep=D,checkpoint_age=P% (default 75%)")
      ->type_name("SPEC");
  app_->add_flag("--json", json_, "JSON lines even on a terminal");
}

int DedupeCommand::Run() {
  DedupeOptions options;
  std::string error;
  if (!ValidSqlIdentifier(table_, &error)) throw UsageError("--table: " + error);
  if (!ValidSqlIdentifier(id_column_, &error)) throw UsageError("--id-column: " + error);
  options.table = table_;
  options.id_column = id_column_;
  size_t start = 0;
  while (start <= key_.size()) {
    size_t end = key_.find(',', start);
    if (end == std::string::npos) end = key_.size();
    std::string column = key_.substr(start, end - start);
    if (!ValidSqlIdentifier(column, &error)) throw UsageError("--key: " + error);
    options.key.push_back(column);
    start = end + 1;
  }
  options.keep_lowest = keep_ == "lowest-id";
  options.chunk = chunk_;
  auto ms = ParseDurationMs(chunk_time_, &error);
  if (!ms) throw UsageError("--chunk-time: " + error);
  options.chunk_time_ms = *ms;
  if (!throttle_.empty()) {
    auto t = ThrottleSettings::Parse(throttle_, &error);
    if (!t) throw UsageError("--throttle: " + error);
    options.throttle = *t;
  }

  const ProgressPrinter::Mode mode =
      json_ ? ProgressPrinter::Mode::kJson : ProgressPrinter::ForFd(STDOUT_FILENO);
  MysqlConnection conn = ctx_.ConnectMysql();
  if (dry_run_) {
    Deduplicator dedupe(conn, nullptr);
    nlohmann::json plan = dedupe.Plan(options);
    if (json_) {
      ctx_.out() << plan.dump() << '\n';
    } else {
      ctx_.out() << "dry run: nothing deleted\n"
                 << options.table << ": " << Fmt(plan["rows"]) << " rows, "
                 << Fmt(plan["duplicates"]) << " duplicates of "
                 << Fmt(plan["keys_with_duplicates"]) << " keys (" << key_ << "); the " << keep_
                 << " row of each key would stay\n";
    }
    return kExitOk;
  }

  StopSignal stop;
  stop.HandleSignals({SIGINT, SIGTERM});
  ProgressPrinter printer(mode, ctx_.out(), ctx_.err());
  Deduplicator dedupe(conn, std::ref(printer), [&stop] { return stop.stopped(); });
  DedupeSummary summary = dedupe.Run(options);
  if (mode == ProgressPrinter::Mode::kBar) {
    ctx_.out() << "deleted " << Fmt(summary.deleted) << " duplicate rows of " << options.table
               << " (key " << key_ << ", kept the " << keep_ << " row) in "
               << FormatDuration(summary.elapsed_ms) << "; " << Fmt(summary.scanned)
               << " rows scanned in " << Fmt(summary.chunks) << " chunks, longest chunk "
               << summary.longest_chunk_ms << "ms\n";
  }
  if (!summary.complete) {
    ctx_.Warn("stopped by a signal: rerun to finish");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace warden
