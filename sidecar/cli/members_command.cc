#include "cli/members_command.h"

#include <unistd.h>

#include <csignal>
#include <sstream>

#include "base/duration.h"
#include "base/errors.h"
#include "base/progress_printer.h"
#include "base/stop_signal.h"
#include "base/time_format.h"
#include "members/member_check.h"
#include "members/member_migrator.h"
#include "members/member_restorer.h"
#include "members/member_schema.h"
#include "members/members_config.h"

namespace warden {

namespace {

std::string Explained(const nlohmann::json& explain) {
  std::string out;
  for (const auto& step : explain) {
    const std::string key = step["key"].is_null() ? "no index" : step["key"].get<std::string>();
    const std::string type = step["type"].is_null() ? "?" : step["type"].get<std::string>();
    out += (out.empty() ? "" : "; ") + key + " (" + type;
    if (!step["rows"].is_null()) out += ", ~" + step["rows"].get<std::string>() + " rows";
    out += ")";
  }
  return out;
}

std::string Fmt(int64_t n) { return ProgressPrinter::Thousands(n); }

std::string Rate(double rows_per_s) { return Fmt(static_cast<int64_t>(rows_per_s + 0.5)); }

}  // namespace

MembersCommand::MembersCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ =
      parent.add_subcommand("members", "Move long-inactive members to the archive table and back");
  app_->require_subcommand(1);

  migrate_ = app_->add_subcommand(
      "migrate", "Move members inactive for longer than --inactive-for to the archive, in chunks");
  migrate_
      ->add_option("--inactive-for", inactive_for_,
                   "Move members whose last login is older than this (default 365d)")
      ->type_name("DURATION");
  migrate_->add_option("--chunk", chunk_, "Rows in the first chunk (default 1000)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  migrate_
      ->add_option("--chunk-time", chunk_time_,
                   "Adapt the chunk size so a chunk takes this long (default 80ms; 0: fixed)")
      ->type_name("DURATION");
  migrate_->add_option("--max-chunk", max_chunk_, "Largest chunk (default 50000)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  migrate_
      ->add_option("--parallel", parallel_,
                   "Move N stripes of the id range at once, one connection each (default 1)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{1}, int64_t{16}));
  migrate_->add_flag("--dry-run", dry_run_, "Count and show the plan (EXPLAIN); change nothing");
  migrate_->add_option("--max-rows", max_rows_, "Stop after moving N rows (a rerun continues)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 62));
  migrate_
      ->add_option(
          "--throttle", throttle_,
          "Pause between chunks: threads_running=N,replica_lag=D,sleep=D,checkpoint_age=P% "
          "(default 75%)")
      ->type_name("SPEC");
  migrate_
      ->add_option("--replica", replicas_,
                   "A replica to watch (repeatable; replaces [members] replicas): "
                   "mysql://user:pass@host:port/db")
      ->type_name("URL");
  migrate_
      ->add_option("--max-replica-lag", max_replica_lag_,
                   "Pause while a replica is further behind than this (throttle replica_lag)")
      ->type_name("DURATION");
  migrate_->add_flag("--verify", verify_,
                     "Checksum every chunk; check counts and checksum at the end");
  migrate_->add_flag("--fresh", fresh_, "Abandon an unfinished run instead of resuming it");
  migrate_->add_flag("--json", json_, "JSON lines even on a terminal");
  migrate_
      ->add_option("--lock-wait", lock_wait_,
                   "Wait this long for the lock of a run that no longer runs (killed, its "
                   "connection not yet closed by the server; default 30s, 0: do not wait)")
      ->type_name("DURATION");
  migrate_->add_flag("--max-impact", max_impact_,
                     "Put the site first: rest after each chunk, longer and with smaller chunks "
                     "while logins wait for its row locks or a probe query slows down "
                     "(chunk-time 40ms unless given); slower");
  migrate_->add_flag("--fix-archive-keys", fix_archive_keys_,
                     "Make the archive's unique keys (an older warden's archive) plain indexes "
                     "first");

  check_ = app_->add_subcommand(
      "check",
      "Report what would stop a migration or weigh on the site: tables, indexes, unique keys, "
      "foreign keys, triggers, the binary log, replicas, and the estimated time");
  check_
      ->add_option("--inactive-for", inactive_for_,
                   "Estimate for members inactive for longer than this (default 365d)")
      ->type_name("DURATION");
  check_
      ->add_option("--replica", replicas_,
                   "A replica to check (repeatable; replaces [members] replicas)")
      ->type_name("URL");
  check_->add_flag("--json", json_, "Print a JSON object");

  restore_ = app_->add_subcommand("restore", "Move an archived member back (reactivation)");
  restore_->add_option("id", restore_id_, "The member's id")->type_name("ID");
  restore_->add_option("--email", email_, "Find the member by email instead")->type_name("EMAIL");
  restore_->add_flag("--keep-login-time", keep_login_time_,
                     "Keep last_login_time as archived (default: set it to now)");
  restore_
      ->add_option("--rename", rename_,
                   "Restore it with this email (when a member took its email meanwhile)")
      ->type_name("EMAIL");
  restore_->add_flag("--json", json_, "Print a JSON object");
}

int MembersCommand::Run() {
  if (migrate_->parsed()) return Migrate();
  if (check_->parsed()) return Check();
  return Restore();
}

int MembersCommand::Migrate() {
  MembersSettings settings = MembersSettings::Load(ctx_.settings().config_path());
  MigrateOptions options;
  options.inactive_for_ms = settings.inactive_for_ms;
  options.chunk = settings.chunk;
  options.chunk_time_ms = settings.chunk_time_ms;
  options.max_chunk = settings.max_chunk;
  options.parallel = settings.parallel;
  options.throttle = settings.throttle;
  std::string error;
  if (!inactive_for_.empty()) {
    auto ms = ParseDurationMs(inactive_for_, &error);
    if (!ms) throw UsageError("--inactive-for: " + error);
    if (*ms < 1000) throw UsageError("--inactive-for: must be at least 1s");
    options.inactive_for_ms = *ms;
  }
  if (chunk_ > 0) options.chunk = chunk_;
  if (parallel_ > 0) options.parallel = parallel_;
  if (max_chunk_ > 0) options.max_chunk = max_chunk_;
  if (!chunk_time_.empty()) {
    auto ms = ParseDurationMs(chunk_time_, &error);
    if (!ms) throw UsageError("--chunk-time: " + error);
    if (*ms > 60000) throw UsageError("--chunk-time: at most 1m");
    options.chunk_time_ms = *ms;
  }
  if (options.chunk > options.max_chunk) options.max_chunk = options.chunk;
  if (!throttle_.empty()) {
    auto t = ThrottleSettings::Parse(throttle_, &error);
    if (!t) throw UsageError("--throttle: " + error);
    options.throttle = *t;
  }
  if (!replicas_.empty()) {
    settings.replicas.clear();
    for (const std::string& text : replicas_) {
      auto url = MysqlUrl::Parse(text, &error);
      if (!url) throw UsageError("--replica: " + error);
      settings.replicas.push_back(*url);
    }
  }
  if (!max_replica_lag_.empty()) {
    auto ms = ParseDurationMs(max_replica_lag_, &error);
    if (!ms) throw UsageError("--max-replica-lag: " + error);
    if (*ms < 1000 || *ms > int64_t{3600} * 1000) {
      throw UsageError("--max-replica-lag: 1s to 1h (replicas report whole seconds)");
    }
    options.throttle.replica_lag_ms = *ms;
  }
  // Either half alone would silently check nothing.
  if (options.throttle.replica_lag_ms > 0 && settings.replicas.empty()) {
    throw UsageError("a replica lag limit needs replicas: --replica URL or [members] replicas");
  }
  if (!replicas_.empty() && options.throttle.replica_lag_ms <= 0) {
    throw UsageError("--replica needs a lag limit: --max-replica-lag or throttle replica_lag");
  }
  options.max_rows = max_rows_;
  options.verify = verify_;
  options.fresh = fresh_;
  options.fix_archive_keys = fix_archive_keys_;
  options.max_impact = max_impact_;
  if (max_impact_ && chunk_time_.empty() && options.chunk_time_ms > 40) {
    options.chunk_time_ms = 40;
  }
  if (!lock_wait_.empty()) {
    auto ms = ParseDurationMs(lock_wait_, &error);
    if (!ms) throw UsageError("--lock-wait: " + error);
    if (*ms > int64_t{3600} * 1000) throw UsageError("--lock-wait: at most 1h");
    options.lock_wait_ms = *ms;
  }

  const ProgressPrinter::Mode mode =
      json_ ? ProgressPrinter::Mode::kJson : ProgressPrinter::ForFd(STDOUT_FILENO);
  const bool json = mode == ProgressPrinter::Mode::kJson;
  MysqlConnection conn = ctx_.ConnectMysql();

  if (dry_run_) {
    MemberMigrator migrator(conn, settings, nullptr);
    nlohmann::json plan = migrator.Plan(options);
    if (json_) {
      ctx_.out() << plan.dump() << '\n';
      return kExitOk;
    }
    std::ostream& out = ctx_.out();
    out << "dry run: nothing changed\n";
    out << "members:   " << Fmt(plan["members"]) << " in " << settings.table << '\n';
    out << "cutoff:    " << settings.last_login_column << " < " << plan["cutoff"].get<int64_t>()
        << " (" << plan["cutoff_time"].get<std::string>() << ")\n";
    out << "to move:   " << Fmt(plan["to_move"]);
    if (!plan["first_id"].is_null()) {
      out << " (" << settings.id_column << " " << plan["first_id"].get<int64_t>() << " to "
          << plan["last_id"].get<int64_t>() << ")";
    }
    out << '\n';
    out << "archive:   " << settings.archive_table
        << (plan["archive_exists"].get<bool>() ? "" : " (will be created)") << '\n';
    out << "chunks:    about " << Fmt(plan["estimated_chunks"]) << " of " << Fmt(options.chunk)
        << " rows";
    if (options.chunk_time_ms > 0) {
      out << ", adapting to " << FormatDuration(options.chunk_time_ms) << " per chunk (at most "
          << Fmt(options.max_chunk) << ")";
    }
    if (options.parallel > 1) {
      out << ", " << options.parallel << " stripes of the id range at once";
    }
    out << '\n';
    out << "throttle:  " << plan["throttle"].get<std::string>() << '\n';
    out << "count:     uses " << Explained(plan["explain_count"]) << '\n';
    out << "chunks:    walk " << Explained(plan["explain_chunk"]) << '\n';
    for (const auto& warning : plan["warnings"]) {
      out << "warning:   " << warning.get<std::string>() << '\n';
    }
    if (plan["login_index"].get<std::string>().empty()) {
      out << "warning:   no index on " << settings.last_login_column
          << " (see warden members check)\n";
    }
    if (plan.contains("resume")) {
      const auto& r = plan["resume"];
      out << "resume:    run #" << r["run_id"].get<int64_t>() << " (" << Fmt(r["rows_moved"])
          << " moved so far)";
      if (!r["last_id"].is_null())
        out << " from " << settings.id_column << " > " << r["last_id"].get<int64_t>();
      out << "; --fresh starts over\n";
    }
    return kExitOk;
  }

  StopSignal stop;
  stop.HandleSignals({SIGINT, SIGTERM});
  ProgressPrinter printer(mode, ctx_.out(), ctx_.err());
  MemberMigrator migrator(conn, settings, std::ref(printer), [&stop] { return stop.stopped(); });
  migrator.set_connector([this] { return ctx_.ConnectMysql(); });
  MigrateSummary summary = migrator.Migrate(options);

  int code = kExitOk;
  if (summary.verify && !(*summary.verify)["ok"].get<bool>()) code = kExitFailure;
  if (summary.stopped == "cancelled") code = kExitFailure;
  if (!json) {
    std::ostream& out = ctx_.out();
    out << "moved " << Fmt(summary.rows_moved) << " members in "
        << FormatDuration(summary.elapsed_ms) << " (" << Rate(summary.rows_per_s()) << " rows/s), "
        << Fmt(summary.chunks) << " chunks, longest chunk " << summary.longest_chunk_ms << "ms";
    if (summary.paused_ms > 0) out << ", paused " << FormatDuration(summary.paused_ms);
    if (summary.retries > 0) out << ", " << summary.retries << " chunks retried";
    if (summary.max_impact) {
      out << ", rested " << FormatDuration(summary.rested_ms) << " (" << summary.pressured_chunks
          << " chunks felt by the site)";
    }
    out << '\n';
    out << "run #" << summary.run_id << (summary.resumed ? " (resumed)" : "") << ": "
        << Fmt(summary.run_rows_moved) << " moved in all, cutoff "
        << FormatIsoUtc(summary.cutoff * 1000) << ", "
        << (summary.complete                ? "complete"
            : summary.stopped == "max-rows" ? "stopped at --max-rows: rerun to continue"
                                            : "stopped: rerun to continue")
        << '\n';
    if (summary.verify) {
      const nlohmann::json& v = *summary.verify;
      out << "verify: " << (v["ok"].get<bool>() ? "ok" : "FAILED") << " (" << Fmt(v["archived"])
          << " archived of " << Fmt(v["rows_moved"]) << " moved, "
          << (v["checksum"].is_null()                  ? std::string("no checksum")
              : v["checksum"] == v["archive_checksum"] ? std::string("checksum matches")
                                                       : std::string("checksum DIFFERS"))
          << ", " << Fmt(v["in_both_tables"]) << " in both tables, " << Fmt(v["left_behind"])
          << " left behind)\n";
    }
  }
  if (summary.stopped == "cancelled") ctx_.Warn("stopped by a signal: rerun to resume");
  return code;
}

int MembersCommand::Check() {
  MembersSettings settings = MembersSettings::Load(ctx_.settings().config_path());
  std::string error;
  int64_t inactive_for_ms = settings.inactive_for_ms;
  if (!inactive_for_.empty()) {
    auto ms = ParseDurationMs(inactive_for_, &error);
    if (!ms) throw UsageError("--inactive-for: " + error);
    if (*ms < 1000) throw UsageError("--inactive-for: must be at least 1s");
    inactive_for_ms = *ms;
  }
  if (!replicas_.empty()) {
    settings.replicas.clear();
    for (const std::string& text : replicas_) {
      auto url = MysqlUrl::Parse(text, &error);
      if (!url) throw UsageError("--replica: " + error);
      settings.replicas.push_back(*url);
    }
  }
  MysqlConnection conn = ctx_.ConnectMysql();
  MemberCheck check(conn, settings, inactive_for_ms);
  const std::vector<MemberCheck::Finding> findings = check.Run();
  const MemberSchema& schema = check.schema();
  std::vector<std::string> problems;
  std::vector<std::string> risks;
  for (const auto& f : findings) {
    if (f.kind == "problem") problems.push_back(f.message);
    if (f.kind == "risk") risks.push_back(f.message);
  }
  if (json_) {
    nlohmann::json j = {{"table", settings.table},
                        {"archive_table", settings.archive_table},
                        {"table_exists", schema.source().exists},
                        {"archive_exists", schema.archive().exists},
                        {"login_index", schema.LoginIndex()},
                        {"estimated_rows", schema.source().estimated_rows},
                        {"problems", problems},
                        {"risks", risks},
                        {"findings", nlohmann::json::array()},
                        {"estimate", check.estimate()},
                        {"ok", problems.empty()}};
    for (const auto& f : findings) j["findings"].push_back(f.ToJson());
    if (schema.source().exists && schema.LoginIndex().empty()) {
      j["add_index"] = schema.AddLoginIndexSql();
    }
    if (!schema.ArchiveKeysSql().empty()) j["fix_archive_keys"] = schema.ArchiveKeysSql();
    ctx_.out() << j.dump() << '\n';
  } else {
    std::ostream& out = ctx_.out();
    if (schema.source().exists) {
      out << settings.table << ": ~" << Fmt(schema.source().estimated_rows) << " rows, "
          << schema.source().engine << ", index on " << settings.last_login_column << ": "
          << (schema.LoginIndex().empty() ? "none" : schema.LoginIndex()) << '\n';
      out << settings.archive_table << ": "
          << (schema.archive().exists ? "~" + Fmt(schema.archive().estimated_rows) + " rows"
                                      : std::string("missing (warden members migrate creates it)"))
          << '\n';
    }
    for (const auto& f : findings) out << f.kind << ": " << f.message << '\n';
    if (problems.empty()) {
      out << (risks.empty() ? "ok: ready to migrate\n"
                            : "ok: ready to migrate, with the risks above\n");
    }
  }
  return problems.empty() ? kExitOk : kExitFailure;
}

int MembersCommand::Restore() {
  if (restore_id_.empty() == email_.empty()) {
    throw UsageError("members restore: give a member id or --email, not both");
  }
  std::optional<int64_t> id;
  if (!restore_id_.empty()) {
    int64_t value = 0;
    std::istringstream in(restore_id_);
    if (!(in >> value) || !in.eof()) {
      throw UsageError("members restore: \"" + restore_id_ + "\" is not a member id (an integer)");
    }
    id = value;
  }
  MembersSettings settings = MembersSettings::Load(ctx_.settings().config_path());
  MysqlConnection conn = ctx_.ConnectMysql();
  MemberRestorer restorer(conn, settings);
  if (!rename_.empty() && rename_.find('@') == std::string::npos) {
    throw UsageError("--rename: \"" + rename_ + "\" is not an email address");
  }
  MemberRestorer::Result result =
      restorer.Restore(id, email_.empty() ? std::nullopt : std::optional(email_), !keep_login_time_,
                       rename_.empty() ? std::nullopt : std::optional(rename_));
  if (json_) {
    nlohmann::json j = {{"id", result.id}, {"outcome", result.outcome}};
    if (result.renamed) j["email"] = *result.renamed;
    ctx_.out() << j.dump() << '\n';
  } else if (result.outcome == "restored") {
    ctx_.out() << "restored member " << result.id << " to " << settings.table;
    if (result.renamed) ctx_.out() << " with the email " << *result.renamed;
    ctx_.out() << '\n';
  } else {
    ctx_.out() << "member " << result.id << " is active already (in " << settings.table
               << "): nothing to do\n";
  }
  return kExitOk;
}

}  // namespace warden
