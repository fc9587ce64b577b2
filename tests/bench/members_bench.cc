// `make bench` for member migration on a live database: 1,000,000 members of which 600,000
// inactive (--members N or WARDEN_BENCH_MEMBERS for another size), and a live workload that
// runs throughout on its own connections at a fixed rate: logins (UPDATE member SET
// last_login_time = ? WHERE id = ?, on random active and inactive ids), sign-ups (INSERT) and
// profile reads by email. In the same run, one after the other, the data restored between:
//   idle        the workload alone, for --idle-seconds: its baseline latency;
//   warden      warden members migrate with its defaults, with --max-impact, and with each
//               --warden-variant ARGS;
//   pt-archiver --limit 1000 --commit-each --bulk-insert --bulk-delete (Percona Toolkit);
//   single      one INSERT ... SELECT + DELETE transaction.
// For each: the time to the end and until InnoDB has purged what it deleted, the live
// workload's p50/p99/max latency (from each operation's scheduled start, so an operation that
// waits delays the ones behind it, as a user would see), its errors and lock wait timeouts, and
// the longest chunk; then the ratios and PASS/MISS per target:
//   the workload's p99 during warden <= 2x its idle p99, and lower than during pt-archiver and
//   the single transaction; no live query fails or times out during warden; warden's time
//   until purged <= 1.3x the single transaction's; no chunk transaction over 250 ms.
// The load average is printed with each method: these machines are shared. Then warden dedupe
// on 1,000,000 contacts next to the seed's self-join DELETE (without the workload).
// The server runs with innodb_flush_log_at_trx_commit=1 (every commit durable) and its datadir
// on /dev/shm when there is room (tests/support), where an fsync costs next to nothing.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.h"
#include "bench/bench_support.h"
#include "storage/mysql/load_throttle.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_transaction.h"
#include "support/mariadb_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/warden_cli.h"

using namespace warden::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using warden::bench::LoadAverage;

namespace {

struct Options {
  long members = 1000000;
  int rounds = 1;
  double rate = 300;  // live operations per second, all connections together
  int live_connections = 4;
  double idle_seconds = 10;  // the idle phase's length
  // Each a warden row: {} its defaults; --warden-variant ARGS adds one.
  std::vector<std::vector<std::string>> warden_variants = {{}, {"--max-impact"}};
  bool skip_pt = false;
  bool skip_dedupe = false;
  std::vector<std::string> server_options;  // more mariadbd options, e.g. to compare settings
};

std::vector<std::string> ServerOptions(const Options& options) {
  std::vector<std::string> all = {"--innodb-buffer-pool-size=1G", "--innodb-log-file-size=256M",
                                  "--innodb-flush-log-at-trx-commit=1", "--local-infile=1",
                                  "--max-allowed-packet=64M"};
  all.insert(all.end(), options.server_options.begin(), options.server_options.end());
  return all;
}

double Since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "members_bench: %s\n", why.c_str());
  std::exit(1);
}

std::string FindProgram(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/"}) {
    std::string path = std::string(dir) + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

constexpr const char* kColumns = "id, email, name, phone, country, last_login_time, created_at";

// What the live workload saw over a window.
struct LiveStats {
  int64_t ops = 0;
  int64_t errors = 0;    // failed operations, lock wait timeouts included
  int64_t timeouts = 0;  // lock wait timeouts (1205)
  int64_t signups = 0;   // committed sign-ups (for the accounting)
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::string first_error;
};

// The site: logins, sign-ups and profile reads at a fixed rate on their own connections, each
// operation timed from when it was due (a late start counts: it is what a user waits).
class LiveLoad {
 public:
  LiveLoad(std::string url, long members, double rate, int connections, int64_t first_signup)
      : url_(std::move(url)),
        members_(members),
        rate_(rate),
        connections_(connections),
        signup_seq_(first_signup),
        origin_(SteadyClock::now()) {}
  ~LiveLoad() { Stop(); }

  void Start() {
    ops_.assign(connections_, {});
    for (int w = 0; w < connections_; ++w) threads_.emplace_back([this, w] { Worker(w); });
  }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  // Seconds since the load was made: the time base of Stats.
  double Now() const { return Since(origin_); }
  int64_t next_signup() const { return signup_seq_; }

  // The operations due in [from, to) (after Stop).
  LiveStats Stats(double from, double to) const {
    LiveStats stats;
    std::vector<double> latencies;
    for (const auto& worker : ops_) {
      for (const Op& op : worker) {
        if (op.due < from || op.due >= to) continue;
        ++stats.ops;
        latencies.push_back(op.latency_ms);
        if (!op.ok) {
          ++stats.errors;
          if (op.timeout) ++stats.timeouts;
          if (stats.first_error.empty()) stats.first_error = op.error;
        }
      }
    }
    for (const auto& worker : ops_) {
      for (const Op& op : worker) stats.signups += op.signup && op.ok;  // whatever the window
    }
    stats.p50_ms = warden::bench::Percentile(latencies, 0.50);
    stats.p99_ms = warden::bench::Percentile(latencies, 0.99);
    stats.max_ms = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
    return stats;
  }

 private:
  struct Op {
    double due = 0;  // seconds since origin_
    double latency_ms = 0;
    bool ok = true;
    bool timeout = false;
    bool signup = false;
    std::string error;
  };

  void Worker(int w) {
    std::mt19937_64 rng(7919 * (w + 1));
    std::uniform_int_distribution<long> member(1, members_);
    std::uniform_int_distribution<int> kind(0, 99);
    std::string error;
    warden::MysqlConnection::Options co;
    co.read_timeout_ms = 120000;
    const warden::MysqlUrl url = *warden::MysqlUrl::Parse(url_, &error);
    std::optional<warden::MysqlConnection> conn;
    std::optional<warden::MysqlStatement> login, read, signup;
    auto connect = [&] {
      login.reset();
      read.reset();
      signup.reset();
      conn = warden::MysqlConnection::Connect(url, co);
      login = conn->Prepare("UPDATE member SET last_login_time = ? WHERE id = ?");
      read = conn->Prepare("SELECT id, name, last_login_time FROM member WHERE email = ?");
      signup = conn->Prepare(
          "INSERT INTO member (email, name, phone, country, last_login_time, created_at) "
          "VALUES (?, 'New member', NULL, 'KR', ?, NOW())");
    };
    connect();
    const double interval = connections_ / rate_;
    double due = Now() + interval * w / connections_;
    std::vector<Op>& ops = ops_[w];
    while (!stop_) {
      const double wait = due - Now();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      Op op;
      op.due = due;
      const int k = kind(rng);
      try {
        if (!conn) connect();
        const int64_t now = std::time(nullptr);
        if (k < 60) {
          login->Execute({now, static_cast<int64_t>(member(rng))});
        } else if (k < 90) {
          read->Query({"member" + std::to_string(member(rng)) + "@example.com"});
        } else {
          op.signup = true;
          signup->Execute({"signup" + std::to_string(signup_seq_++) + "@example.com", now});
        }
      } catch (const warden::MysqlRetryableError& e) {
        op.ok = false;
        op.timeout = e.code() == 1205;
        op.error = e.what();
      } catch (const warden::MysqlError& e) {
        op.ok = false;
        op.error = e.what();
        if (dynamic_cast<const warden::MysqlConnectionLostError*>(&e) != nullptr) conn.reset();
      }
      op.latency_ms = (Now() - due) * 1000;
      ops.push_back(op);
      due += interval;
    }
  }

  std::string url_;
  long members_;
  double rate_;
  int connections_;
  std::atomic<int64_t> signup_seq_;
  SteadyClock::time_point origin_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::vector<std::vector<Op>> ops_;
};

// One method's run, with the workload around it.
struct Phase {
  std::string method;
  double seconds = 0;
  double purged_seconds = 0;  // until InnoDB purged what it deleted
  // And until the redo it wrote is flushed: the checkpoint age back under the share Warden's
  // throttle keeps (75 %), measured after the window of the live workload's figures (-1: not
  // within the bench's 300 s).
  double flushed_seconds = 0;
  double age_pct_before = 0;  // the checkpoint age when the method started, % of the maximum
  int64_t longest_chunk_ms = -1;
  int64_t chunks = 0;
  LiveStats live;
  double load_before = 0;
  double load_after = 0;
  std::string consistency = "ok";
  std::string phases;  // warden's phases_ms
  std::string pauses;  // warden's throttle pauses, and the waits it gave up
  // Where the live workload's time went, over the window: waits for row locks (server-wide
  // Innodb_row_lock_waits and _time: the mover's own waits count too) and the server's CPU.
  int64_t row_lock_waits = 0;
  int64_t row_lock_ms = 0;
  double server_cpu_s = 0;
  bool ran = false;
};

class Bench {
 public:
  explicit Bench(const Options& options)
      : options_(options),
        db_(MariaDbServer::Options{ServerOptions(options), std::chrono::seconds(60)}) {
    now_ = std::time(nullptr);
    cutoff_ = now_ - 365 * 86400;
  }

  // Heavy statements go through a connection with a long read timeout: the fixture's Query
  // gives up after 10 s, and copying a million rows on a busy machine takes longer.
  warden::MysqlConnection& Sql() {
    if (!sql_) {
      std::string error;
      warden::MysqlConnection::Options co;
      co.read_timeout_ms = 600000;
      co.write_timeout_ms = 600000;
      sql_ = warden::MysqlConnection::Connect(*warden::MysqlUrl::Parse(db_.url(), &error), co);
    }
    return *sql_;
  }
  void Exec(const std::string& sql) { Sql().Execute(sql); }

  void Generate() {
    auto start = SteadyClock::now();
    Exec(
        "CREATE TABLE member_orig (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "email VARCHAR(191) NOT NULL, name VARCHAR(64) NULL, phone VARCHAR(32) NULL, "
        "country CHAR(2) NOT NULL, last_login_time INT UNSIGNED NOT NULL, "
        "created_at DATETIME NOT NULL, UNIQUE KEY email (email), "
        "KEY idx_last_login_time (last_login_time)) ENGINE=InnoDB");
    // 60% inactive (last login 400 days to ~4 years ago), spread over the whole id range the
    // way sign-up order and activity mix in a real table; the rest logged in this year.
    Exec(
        "INSERT INTO member_orig SELECT seq, CONCAT('member', seq, '@example.com'), "
        "CONCAT('Member ', seq), CONCAT('+82-10-', LPAD(seq, 8, '0')), "
        "ELT(1 + seq % 4, 'KR', 'US', 'JP', 'DE'), "
        "IF(seq % 5 < 3, " +
        std::to_string(now_ - 400 * 86400) + " - (seq * 7919) % 100000000, " +
        std::to_string(now_) +
        " - (seq * 104729) % 30000000), "
        "'2020-01-01 00:00:00' + INTERVAL seq MINUTE FROM seq_1_to_" +
        std::to_string(options_.members));
    inactive_ = Count("SELECT COUNT(*) FROM member_orig WHERE last_login_time < " +
                      std::to_string(cutoff_));
    std::printf("generated %s members, %s inactive, in %.1fs\n",
                Thousands(options_.members).c_str(), Thousands(inactive_).c_str(), Since(start));
  }

  // A fresh member table (a copy of member_orig) and an empty archive with moved_at (its email
  // index not unique, as warden makes it).
  void Restore() {
    Exec("DROP TABLE IF EXISTS member, unconnected_member, warden_members_migration");
    Exec("CREATE TABLE member LIKE member_orig");
    Exec("INSERT INTO member SELECT * FROM member_orig");
    Exec("CREATE TABLE unconnected_member LIKE member_orig");
    Exec(
        "ALTER TABLE unconnected_member ADD COLUMN moved_at DATETIME NOT NULL "
        "DEFAULT CURRENT_TIMESTAMP, ADD INDEX idx_moved_at (moved_at), DROP INDEX email, "
        "ADD INDEX email (email)");
    // Let the purge of the copy settle, and its redo be flushed, so every method starts from
    // the same state: the copy writes more redo than the log holds, and a server that nothing
    // else writes to may leave it at seven eighths (where the throttle would wait for the
    // copy's redo inside Warden's time, and the other methods stall on it).
    PurgeWait(0);
    FlushLog();
  }

  double CheckpointAgePct() {
    const int64_t max_age = GlobalStatus("Innodb_checkpoint_max_age");
    return max_age > 0 ? 100.0 * GlobalStatus("Innodb_checkpoint_age") / max_age : 0;
  }

  // Flushes every dirty page (innodb_max_dirty_pages_pct=0 for the while), until the checkpoint
  // age is under 5 % of the log.
  void FlushLog() {
    auto rows = db_.Query("SELECT @@GLOBAL.innodb_max_dirty_pages_pct");
    const std::string saved = rows.empty() || !rows[0][0] ? "90" : *rows[0][0];
    db_.Query("SET GLOBAL innodb_max_dirty_pages_pct = 0");  // (root: SUPER)
    PollUntil([&] { return CheckpointAgePct() <= 5; }, 300s, 100ms);
    db_.Query("SET GLOBAL innodb_max_dirty_pages_pct = " + saved);
  }

  // Seconds until the checkpoint age is back under the throttle's default share, with the
  // live workload still writing; -1 past 300 s.
  double FlushWait() {
    auto start = SteadyClock::now();
    const bool flushed = PollUntil(
        [&] { return CheckpointAgePct() <= warden::ThrottleSettings::kDefaultCheckpointAgePct; },
        300s, 20ms);
    return flushed ? Since(start) : -1;
  }

  // After a method, with the workload stopped: every member in exactly one table, nobody
  // inactive left, nobody active archived, nobody lost. "ok" or what is wrong.
  std::string Consistency(int64_t signups) {
    const std::string cutoff = std::to_string(cutoff_);
    std::string out;
    auto expect = [&](const std::string& what, int64_t got, int64_t want) {
      if (got != want) {
        out += (out.empty() ? "" : "; ") + what + " " + Thousands(got) + " (expected " +
               Thousands(want) + ")";
      }
    };
    expect("inactive left in member",
           Count("SELECT COUNT(*) FROM member WHERE last_login_time < " + cutoff), 0);
    expect("active in the archive",
           Count("SELECT COUNT(*) FROM unconnected_member WHERE last_login_time >= " + cutoff), 0);
    expect("in both tables",
           Count("SELECT COUNT(*) FROM member m JOIN unconnected_member a ON a.id = m.id"), 0);
    expect("members in all",
           Count("SELECT (SELECT COUNT(*) FROM member) + (SELECT COUNT(*) FROM "
                 "unconnected_member) - (SELECT COUNT(*) FROM member m JOIN unconnected_member "
                 "a ON a.id = m.id)"),
           options_.members + signups);
    return out.empty() ? "ok" : out;
  }

  // The server's CPU time so far, every thread (utime + stime from /proc).
  double ServerCpuSeconds() const {
    std::ifstream pid_file(db_.dir() + "/mariadb.pid");
    long pid = 0;
    if (!(pid_file >> pid)) return 0;
    return warden::bench::CpuSeconds(static_cast<int>(pid));
  }

  int64_t GlobalStatus(const std::string& name) {
    auto rows = db_.Query("SHOW GLOBAL STATUS LIKE '" + name + "'");
    return rows.empty() || !rows[0][1] ? 0 : std::stoll(*rows[0][1]);
  }

  int64_t HistoryLength() { return GlobalStatus("Innodb_history_list_length"); }

  // Seconds until InnoDB has purged the deleted rows: the history list is down to what the live
  // workload keeps in it (`threshold`, measured while idle; 0 without the workload). A method
  // that ends with one big COMMIT leaves that work to run after it, a chunked one pays it as it
  // goes. (Counted in transactions, not rows: one big transaction is one entry until its last
  // row is purged.)
  double PurgeWait(int64_t threshold) {
    auto start = SteadyClock::now();
    while (Since(start) < 120) {
      if (HistoryLength() <= threshold) break;
      std::this_thread::sleep_for(20ms);
    }
    return Since(start);
  }

  // Runs `method` (which returns when it is done) with the live workload around it: one second
  // of the workload alone first, then the method and the purge it leaves are the window.
  template <typename Method>
  Phase WithLiveLoad(const std::string& name, Method method) {
    Phase phase;
    phase.method = name;
    phase.load_before = LoadAverage();
    LiveLoad load(db_.url(), options_.members, options_.rate, options_.live_connections,
                  next_signup_);
    load.Start();
    std::this_thread::sleep_for(1s);
    const double from = load.Now();
    const int64_t waits_before = GlobalStatus("Innodb_row_lock_waits");
    const int64_t wait_ms_before = GlobalStatus("Innodb_row_lock_time");
    const double cpu_before = ServerCpuSeconds();
    phase.age_pct_before = CheckpointAgePct();
    auto start = SteadyClock::now();
    method(phase);
    phase.seconds = Since(start);
    phase.purged_seconds = phase.seconds + PurgeWait(purge_threshold_);
    const double to = load.Now();
    const double flush = FlushWait();
    phase.flushed_seconds = flush < 0 ? -1 : phase.purged_seconds + flush;
    phase.row_lock_waits = GlobalStatus("Innodb_row_lock_waits") - waits_before;
    phase.row_lock_ms = GlobalStatus("Innodb_row_lock_time") - wait_ms_before;
    phase.server_cpu_s = ServerCpuSeconds() - cpu_before;
    load.Stop();
    next_signup_ = load.next_signup();
    phase.live = load.Stats(from, to);
    phase.load_after = LoadAverage();
    phase.ran = true;
    return phase;
  }

  Phase Idle() {
    int64_t most = 0;
    Phase phase = WithLiveLoad("idle (no migration)", [&](Phase&) {
      auto start = SteadyClock::now();
      while (Since(start) < options_.idle_seconds) {
        most = std::max(most, HistoryLength());
        std::this_thread::sleep_for(100ms);
      }
    });
    purge_threshold_ = std::max<int64_t>(50, 2 * most);
    phase.purged_seconds = phase.seconds;
    phase.flushed_seconds = phase.seconds;
    return phase;
  }

  Phase Warden(const std::vector<std::string>& extra) {
    std::string name = "warden members migrate";
    for (const std::string& a : extra) name += " " + a;
    Phase phase = WithLiveLoad(name, [&](Phase& p) {
      std::vector<std::string> args = {"members", "migrate", "--json"};
      args.insert(args.end(), extra.begin(), extra.end());
      RunResult r = RunWarden({.args = args, .mysql = db_.url()}, std::nullopt, 1200s);
      if (r.exit_code != 0) Die("warden failed: " + r.err + r.out.substr(0, 2000));
      int64_t pauses = 0, paused_ms = 0;
      std::map<std::string, int> gave_up;  // why waits stopped before the reason went
      for (const nlohmann::json& event : JsonLines(r.out)) {
        if (event.value("event", "") == "pause") ++pauses;
        if (event.value("event", "") == "resume") {
          paused_ms += event.value("paused_ms", int64_t{0});
          if (event.contains("reason")) ++gave_up[event["reason"].get<std::string>()];
        }
        if (event.value("event", "") != "done") continue;
        p.longest_chunk_ms = event["summary"]["longest_chunk_ms"].get<int64_t>();
        p.chunks = event["summary"]["chunks"].get<int64_t>();
        p.phases = event["summary"]["phases_ms"].dump();
      }
      p.pauses = std::to_string(pauses) + " pauses, " + Seconds(paused_ms / 1000.0) + " in all";
      for (const auto& [why, n] : gave_up) p.pauses += "; " + std::to_string(n) + "x " + why;
    });
    phase.consistency = Consistency(phase.live.signups);
    return phase;
  }

  Phase PtArchiver() {
    const std::string pt = FindProgram("pt-archiver");
    if (pt.empty()) {
      std::printf("pt-archiver: not installed (Debian package percona-toolkit): skipped\n");
      return {};
    }
    // L=1: LOAD DATA LOCAL INFILE, which --bulk-insert needs; A: the table's character set.
    // --no-check-columns: the archive has moved_at on top (filled by its default).
    // --no-safe-auto-increment: also move the row with the highest id, as the other methods do.
    ProcessOptions po;
    po.argv = {pt,
               "--source",
               "h=127.0.0.1,P=" + std::to_string(db_.port()) + ",D=" + MariaDbServer::kDatabase +
                   ",t=member,u=" + MariaDbServer::kUser + ",p=" + MariaDbServer::kPassword +
                   ",L=1,A=utf8mb4",
               "--dest",
               "t=unconnected_member",
               "--where",
               "last_login_time < " + std::to_string(cutoff_),
               "--limit",
               "1000",
               "--commit-each",
               "--bulk-insert",
               "--bulk-delete",
               "--no-check-columns",
               "--no-safe-auto-increment"};
    Phase phase = WithLiveLoad("pt-archiver --limit 1000 (bulk)", [&](Phase&) {
      RunResult r = Run(po, std::nullopt, 1200s);
      if (r.exit_code != 0) Die("pt-archiver failed: " + r.err + r.out);
    });
    phase.consistency = Consistency(phase.live.signups);
    return phase;
  }

  Phase SingleTransaction() {
    std::string error;
    warden::MysqlConnection::Options co;
    co.read_timeout_ms = 600000;
    warden::MysqlConnection conn =
        warden::MysqlConnection::Connect(*warden::MysqlUrl::Parse(db_.url(), &error), co);
    const std::string where = " WHERE last_login_time < " + std::to_string(cutoff_);
    Phase phase = WithLiveLoad("one INSERT...SELECT + DELETE", [&](Phase& p) {
      warden::MysqlTransaction tx(conn);
      conn.Execute(std::string("INSERT INTO unconnected_member (") + kColumns +
                   ", moved_at) SELECT " + kColumns + ", NOW() FROM member" + where);
      conn.Execute("DELETE FROM member" + where);
      tx.Commit();
      p.chunks = 1;
    });
    phase.longest_chunk_ms = static_cast<int64_t>(phase.seconds * 1000);
    phase.consistency = Consistency(phase.live.signups);
    return phase;
  }

  static std::string Seconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", s);
    return text;
  }

  static std::string Ms(double ms) {
    char text[32];
    std::snprintf(text, sizeof text, ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
    return text;
  }

  void Table(const std::vector<Phase>& phases) {
    std::printf("\n%-40s %8s %8s %14s %8s %8s %8s %8s %7s %8s %11s  %s\n", "method", "seconds",
                "+purge", "longest chunk", "live ops", "p50 ms", "p99 ms", "max ms", "errors",
                "timeouts", "load avg", "consistency");
    for (const Phase& p : phases) {
      if (!p.ran) continue;
      const std::string chunk = p.longest_chunk_ms < 0 ? "n/a"
                                                       : std::to_string(p.longest_chunk_ms) +
                                                             " ms/" + Thousands(p.chunks);
      char load[32];
      std::snprintf(load, sizeof load, "%.2f->%.2f", p.load_before, p.load_after);
      std::printf("%-40s %8.2f %8.2f %14s %8s %8s %8s %8s %7lld %8lld %11s  %s\n", p.method.c_str(),
                  p.seconds, p.purged_seconds, chunk.c_str(), Thousands(p.live.ops).c_str(),
                  Ms(p.live.p50_ms).c_str(), Ms(p.live.p99_ms).c_str(), Ms(p.live.max_ms).c_str(),
                  static_cast<long long>(p.live.errors), static_cast<long long>(p.live.timeouts),
                  load, p.consistency.c_str());
      if (!p.live.first_error.empty()) {
        std::printf("%-40s first live error: %s\n", "", p.live.first_error.substr(0, 200).c_str());
      }
      if (!p.phases.empty()) std::printf("%-40s phases_ms %s\n", "", p.phases.c_str());
      if (!p.pauses.empty()) std::printf("%-40s throttle: %s\n", "", p.pauses.c_str());
      std::printf("%-40s row lock waits %lld (%lld ms in all), server CPU %.2f s in %.2f s\n", "",
                  static_cast<long long>(p.row_lock_waits), static_cast<long long>(p.row_lock_ms),
                  p.server_cpu_s, p.purged_seconds);
      std::printf("%-40s redo log: checkpoint age %.0f%% at the start; under %lld%% again %s\n", "",
                  p.age_pct_before,
                  static_cast<long long>(warden::ThrottleSettings::kDefaultCheckpointAgePct),
                  p.flushed_seconds < 0
                      ? "not within 300 s"
                      : (Seconds(p.flushed_seconds) + " after the start").c_str());
    }
  }

  // The targets for one warden run; true when all are met.
  bool Targets(const Phase& w, const Phase& idle, const Phase& pt, const Phase& single) {
    bool all = true;
    auto target = [&](bool ok, const std::string& what) {
      std::printf("  %s  %s\n", ok ? "PASS" : "MISS", what.c_str());
      all = all && ok;
    };
    char text[512];
    std::printf("%s:\n", w.method.c_str());
    std::snprintf(text, sizeof text, "live p99 %s ms <= 2x idle p99 (%s ms): %.2fx",
                  Ms(w.live.p99_ms).c_str(), Ms(idle.live.p99_ms).c_str(),
                  idle.live.p99_ms > 0 ? w.live.p99_ms / idle.live.p99_ms : 0.0);
    target(w.live.p99_ms <= 2 * idle.live.p99_ms, text);
    if (pt.ran) {
      std::snprintf(text, sizeof text, "live p99 lower than during pt-archiver (%s ms): %.2fx",
                    Ms(pt.live.p99_ms).c_str(), w.live.p99_ms / pt.live.p99_ms);
      target(w.live.p99_ms < pt.live.p99_ms, text);
    }
    std::snprintf(text, sizeof text,
                  "live p99 lower than during the single transaction (%s ms): %.2fx",
                  Ms(single.live.p99_ms).c_str(), w.live.p99_ms / single.live.p99_ms);
    target(w.live.p99_ms < single.live.p99_ms, text);
    std::snprintf(text, sizeof text,
                  "no live query failed or timed out: %lld errors, %lld timeouts",
                  static_cast<long long>(w.live.errors), static_cast<long long>(w.live.timeouts));
    target(w.live.errors == 0 && w.live.timeouts == 0, text);
    std::snprintf(text, sizeof text,
                  "time until purged <= 1.3x the single transaction's: %.2fs vs %.2fs = %.2fx "
                  "(to the end: %.2fx)",
                  w.purged_seconds, single.purged_seconds, w.purged_seconds / single.purged_seconds,
                  w.seconds / single.seconds);
    target(w.purged_seconds <= 1.3 * single.purged_seconds, text);
    std::snprintf(text, sizeof text, "no chunk transaction over 250 ms: longest %lld ms",
                  static_cast<long long>(w.longest_chunk_ms));
    target(w.longest_chunk_ms >= 0 && w.longest_chunk_ms <= 250, text);
    target(w.consistency == "ok",
           "every member in exactly one table, the right one: " + w.consistency);
    if (pt.ran) {
      std::printf("  (vs pt-archiver: %.2fx its time, %.2fx until purged)\n",
                  w.seconds / pt.seconds, w.purged_seconds / pt.purged_seconds);
    }
    if (w.flushed_seconds > 0 && single.flushed_seconds > 0) {
      std::printf(
          "  (until the redo it wrote is flushed too: %.2fs vs the single transaction's "
          "%.2fs = %.2fx)\n",
          w.flushed_seconds, single.flushed_seconds, w.flushed_seconds / single.flushed_seconds);
    }
    return all;
  }

  // warden dedupe over 1,000,000 contacts (every email three times), then the self-join.
  void Dedupe() {
    const std::string rows = std::to_string(options_.members);
    Exec("DROP TABLE IF EXISTS contacts_orig, contacts");
    Exec(
        "CREATE TABLE contacts_orig (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "email VARCHAR(100) NULL, name VARCHAR(50), KEY email (email)) ENGINE=InnoDB");
    Exec("INSERT INTO contacts_orig SELECT seq, CONCAT('c', (seq * 7919) % " +
         std::to_string(options_.members / 3) +
         ", '@example.com'), CONCAT('Contact ', seq) "
         "FROM seq_1_to_" +
         rows);
    const int64_t keys = Count("SELECT COUNT(DISTINCT email) FROM contacts_orig");
    auto restore = [&] {
      Exec("DROP TABLE IF EXISTS contacts");
      Exec("CREATE TABLE contacts LIKE contacts_orig");
      Exec("INSERT INTO contacts SELECT * FROM contacts_orig");
    };
    restore();
    auto start = SteadyClock::now();
    RunResult r = RunWarden(
        {.args = {"dedupe", "--table", "contacts", "--key", "email", "--json"}, .mysql = db_.url()},
        std::nullopt, 600s);
    const double warden_s = Since(start);
    if (r.exit_code != 0) Die("warden dedupe failed: " + r.err);
    nlohmann::json summary;
    for (const nlohmann::json& event : JsonLines(r.out)) {
      if (event.value("event", "") == "done") summary = event["summary"];
    }
    if (Count("SELECT COUNT(*) FROM contacts") != keys) Die("warden dedupe left duplicates");

    restore();
    start = SteadyClock::now();
    Exec(
        "DELETE c1 FROM contacts c1 JOIN contacts c2 ON c1.email = c2.email AND "
        "c1.id > c2.id");
    const double join_s = Since(start);
    if (Count("SELECT COUNT(*) FROM contacts") != keys) Die("the self-join left duplicates");

    std::printf("\ndedupe: %s contacts, %s duplicates\n", Thousands(options_.members).c_str(),
                Thousands(options_.members - keys).c_str());
    std::printf("%-36s %9.2f %10s %16s\n", "warden dedupe", warden_s,
                Thousands(static_cast<int64_t>(options_.members / warden_s)).c_str(),
                (std::to_string(summary["longest_chunk_ms"].get<int64_t>()) + " ms (" +
                 Thousands(summary["chunks"].get<int64_t>()) + " tx)")
                    .c_str());
    std::printf("%-36s %9.2f %10s %16s\n", "one self-join DELETE", join_s,
                Thousands(static_cast<int64_t>(options_.members / join_s)).c_str(),
                (std::to_string(static_cast<int64_t>(join_s * 1000)) + " ms (1 tx)").c_str());
  }

  int Main() {
    std::printf("members bench: MariaDB %s, buffer pool 1G, load average %.2f, %d cores\n",
                db_.Query("SELECT VERSION()")[0][0]->c_str(), LoadAverage(),
                static_cast<int>(std::thread::hardware_concurrency()));
    Generate();
    std::printf(
        "live workload: %.0f operations/s on %d connections (60%% logins on random active and "
        "inactive ids, 30%% profile reads by email, 10%% sign-ups), timed from when each was due\n",
        options_.rate, options_.live_connections);
    next_signup_ = 1;
    bool all_met = true;
    for (int round = 1; round <= options_.rounds; ++round) {
      if (options_.rounds > 1) std::printf("\nround %d\n", round);
      std::vector<Phase> phases;
      auto show = [&](const Phase& p) {
        if (!p.ran) return;
        std::printf(
            "%-40s %7.2fs  until purged %7.2fs  live p50 %s p99 %s max %s ms, %lld errors"
            ", load %.2f\n",
            p.method.c_str(), p.seconds, p.purged_seconds, Ms(p.live.p50_ms).c_str(),
            Ms(p.live.p99_ms).c_str(), Ms(p.live.max_ms).c_str(),
            static_cast<long long>(p.live.errors), p.load_after);
        std::fflush(stdout);
      };
      Restore();
      const Phase idle = Idle();
      show(idle);
      phases.push_back(idle);
      std::vector<Phase> wardens;
      for (const auto& variant : options_.warden_variants) {
        Restore();
        wardens.push_back(Warden(variant));
        show(wardens.back());
        phases.push_back(wardens.back());
      }
      Phase pt;
      if (!options_.skip_pt) {
        Restore();
        pt = PtArchiver();
        show(pt);
        phases.push_back(pt);
      }
      Restore();
      const Phase single = SingleTransaction();
      show(single);
      phases.push_back(single);

      Table(phases);
      for (const Phase& p : phases) {
        if (p.ran && p.live.ops < 1000) {
          std::printf(
              "(%s: %lld live operations in its window: its p99 is about its slowest few; "
              "the full size gives thousands)\n",
              p.method.c_str(), static_cast<long long>(p.live.ops));
          break;
        }
      }
      std::printf("\ntargets:\n");
      for (const Phase& w : wardens) all_met = Targets(w, idle, pt, single) && all_met;
    }
    std::printf("\nmembers bench: %s (load average now %.2f)\n",
                all_met ? "all targets PASS" : "some targets MISS", LoadAverage());
    if (!options_.skip_dedupe) Dedupe();
    return 0;
  }

 private:
  int64_t Count(const std::string& sql) { return Sql().Query(sql)[0].Int64(0); }

  Options options_;
  MariaDbServer db_;
  std::optional<warden::MysqlConnection> sql_;
  int64_t now_ = 0;
  int64_t cutoff_ = 0;
  int64_t inactive_ = 0;
  int64_t purge_threshold_ = 0;
  int64_t next_signup_ = 1;
};

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const char* size = std::getenv("WARDEN_BENCH_MEMBERS"); size != nullptr && *size != '\0') {
    options.members = std::atol(size);
  }
  const std::string usage =
      "usage: members_bench [--members N] [--rounds N] [--rate OPS] [--live-connections N] "
      "[--idle-seconds S] [--warden-variant 'ARGS'] [--skip-pt-archiver] [--skip-dedupe] "
      "[--server-option --name=value ...]";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--members") {
      options.members = std::stol(value());
    } else if (arg == "--rounds") {
      options.rounds = std::max(1, std::stoi(value()));
    } else if (arg == "--rate") {
      options.rate = std::stod(value());
    } else if (arg == "--live-connections") {
      options.live_connections = std::max(1, std::stoi(value()));
    } else if (arg == "--idle-seconds") {
      options.idle_seconds = std::stod(value());
    } else if (arg == "--warden-variant") {
      options.warden_variants.push_back(Words(value()));
    } else if (arg == "--skip-pt-archiver") {
      options.skip_pt = true;
    } else if (arg == "--skip-dedupe") {
      options.skip_dedupe = true;
    } else if (arg == "--server-option") {
      options.server_options.push_back(value());
    } else {
      Die(usage);
    }
  }
  if (options.members < 100 || options.rate <= 0) Die(usage);
  try {
    Bench bench(options);
    return bench.Main();
  } catch (const std::exception& e) {
    Die(e.what());
  }
}
