// `make bench` for member migration: 1,000,000 members of which 600,000 inactive, moved to the
// archive three ways in the same run on the same server, the data restored between runs:
//   1. warden members migrate (its defaults: chunks of about 80 ms, one transaction each), and
//      with --parallel 2 (two stripes of the id range at once, a connection each);
//   2. pt-archiver --limit 1000 --commit-each --bulk-insert --bulk-delete (Percona Toolkit);
//   3. one INSERT ... SELECT + DELETE transaction (the fastest, and it locks everything).
// Then warden dedupe on a 1,000,000-row contacts table with a third of the rows duplicates,
// next to the seed's one self-join DELETE (which locks the table while it runs).
// Each method runs --rounds times (alternating, a round runs every method back to back); the
// table shows each method's best time, and the targets are judged on the median of the
// rounds' own ratios: the speed of these shared machines drifts between rounds, which a ratio
// of best times from different rounds would take for a difference between methods. Prints
// seconds, rows/s, the longest chunk and the ratios against the targets (>= 2.5x faster than
// pt-archiver, within 1.3x of the single transaction, no chunk transaction over 250 ms), and
// the server's CPU time per method, to the end and until InnoDB has purged what it deleted.
// The server runs with innodb_flush_log_at_trx_commit=1 (the production default: every commit
// is durable) and its datadir on /dev/shm when there is room (tests/support), where an fsync
// costs next to nothing: on a disk each of the chunked methods' commits would add one.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_transaction.h"
#include "support/mariadb_server.h"
#include "support/process.h"
#include "support/warden_cli.h"

using namespace warden::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Options {
  long members = 1000000;
  int rounds = 5;
  int parallel = 2;  // the second warden row's --parallel (1: no second row)
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

// One run of one method.
struct Round {
  double seconds = 0;
  double purged_seconds = 0;  // until InnoDB purged what it deleted
  int64_t longest_chunk_ms = -1;
  int64_t chunks = 0;
  double cpu_seconds = 0;         // the server's CPU time (every thread) to the end
  double purged_cpu_seconds = 0;  // ... and until purged
  std::string phases;             // warden's phases_ms
};

struct Result {
  std::string method;
  std::vector<Round> rounds;

  bool ran() const { return !rounds.empty(); }
  // The least disturbed run: the shortest.
  const Round& best() const {
    return *std::min_element(rounds.begin(), rounds.end(),
                             [](const Round& a, const Round& b) { return a.seconds < b.seconds; });
  }
  double best_purged() const {
    double best = std::numeric_limits<double>::infinity();
    for (const Round& r : rounds) best = std::min(best, r.purged_seconds);
    return best;
  }
};

constexpr const char* kColumns = "id, email, name, phone, country, last_login_time, created_at";

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

  // A fresh member table (a copy of member_orig) and an empty archive with moved_at.
  void Restore() {
    Exec("DROP TABLE IF EXISTS member, unconnected_member, warden_members_migration");
    Exec("CREATE TABLE member LIKE member_orig");
    Exec("INSERT INTO member SELECT * FROM member_orig");
    Exec("CREATE TABLE unconnected_member LIKE member_orig");
    Exec(
        "ALTER TABLE unconnected_member ADD COLUMN moved_at DATETIME NOT NULL "
        "DEFAULT CURRENT_TIMESTAMP, ADD INDEX idx_moved_at (moved_at)");
    // Let the purge of the copy settle so every method starts from the same state.
    PurgeWait();
  }

  void Check(const std::string& method) {
    const int64_t archived = Count("SELECT COUNT(*) FROM unconnected_member");
    const int64_t left = Count("SELECT COUNT(*) FROM member");
    if (archived != inactive_ || left != options_.members - inactive_) {
      Die(method + " left " + std::to_string(left) + " in member and " + std::to_string(archived) +
          " archived, expected " + std::to_string(options_.members - inactive_) + " and " +
          std::to_string(inactive_));
    }
  }

  // The server's CPU time so far, every thread (utime + stime from /proc).
  double ServerCpuSeconds() const {
    std::ifstream pid_file(db_.dir() + "/mariadb.pid");
    long pid = 0;
    if (!(pid_file >> pid)) return 0;
    return warden::bench::CpuSeconds(static_cast<int>(pid));
  }

  // Seconds until InnoDB has purged the deleted rows (history list empty): a method that ends
  // with one big COMMIT leaves that work to run after it, a chunked one pays it as it goes.
  double PurgeWait() {
    auto start = SteadyClock::now();
    while (Since(start) < 120) {
      auto rows = db_.Query("SHOW GLOBAL STATUS LIKE 'Innodb_history_list_length'");
      // Counted in transactions, not rows: one big transaction is one entry until its last row
      // is purged.
      if (!rows.empty() && std::stoll(*rows[0][1]) == 0) break;
      std::this_thread::sleep_for(20ms);
    }
    return Since(start);
  }

  // The default settings: what `warden members migrate` does out of the box.
  Round Warden(int parallel) {
    std::vector<std::string> args = {"members", "migrate", "--json"};
    if (parallel > 1) args.insert(args.end(), {"--parallel", std::to_string(parallel)});
    Round round;
    const double cpu = ServerCpuSeconds();
    auto start = SteadyClock::now();
    RunResult r = RunWarden({.args = args, .mysql = db_.url()}, std::nullopt, 600s);
    round.seconds = Since(start);
    round.cpu_seconds = ServerCpuSeconds() - cpu;
    if (r.exit_code != 0) Die("warden failed: " + r.err + r.out.substr(0, 2000));
    nlohmann::json summary;
    for (const nlohmann::json& event : JsonLines(r.out)) {
      if (event.value("event", "") == "done") summary = event["summary"];
    }
    Check("warden");
    round.purged_seconds = round.seconds + PurgeWait();
    round.purged_cpu_seconds = ServerCpuSeconds() - cpu;
    round.longest_chunk_ms = summary["longest_chunk_ms"].get<int64_t>();
    round.chunks = summary["chunks"].get<int64_t>();
    round.phases = summary["phases_ms"].dump();
    return round;
  }

  std::optional<Round> PtArchiver() {
    const std::string pt = FindProgram("pt-archiver");
    if (pt.empty()) {
      std::printf("pt-archiver: not installed (Debian package percona-toolkit): skipped\n");
      return std::nullopt;
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
    Round round;
    const double cpu = ServerCpuSeconds();
    auto start = SteadyClock::now();
    RunResult r = Run(po, std::nullopt, 1200s);
    round.seconds = Since(start);
    round.cpu_seconds = ServerCpuSeconds() - cpu;
    if (r.exit_code != 0) Die("pt-archiver failed: " + r.err + r.out);
    Check("pt-archiver");
    round.purged_seconds = round.seconds + PurgeWait();
    round.purged_cpu_seconds = ServerCpuSeconds() - cpu;
    return round;
  }

  Round SingleTransaction() {
    std::string error;
    warden::MysqlConnection::Options co;
    co.read_timeout_ms = 600000;
    warden::MysqlConnection conn =
        warden::MysqlConnection::Connect(*warden::MysqlUrl::Parse(db_.url(), &error), co);
    const std::string where = " WHERE last_login_time < " + std::to_string(cutoff_);
    Round round;
    const double cpu = ServerCpuSeconds();
    auto start = SteadyClock::now();
    {
      warden::MysqlTransaction tx(conn);
      conn.Execute(std::string("INSERT INTO unconnected_member (") + kColumns +
                   ", moved_at) SELECT " + kColumns + ", NOW() FROM member" + where);
      conn.Execute("DELETE FROM member" + where);
      tx.Commit();
    }
    round.seconds = Since(start);
    round.cpu_seconds = ServerCpuSeconds() - cpu;
    Check("single transaction");
    round.purged_seconds = round.seconds + PurgeWait();
    round.purged_cpu_seconds = ServerCpuSeconds() - cpu;
    round.longest_chunk_ms = static_cast<int64_t>(round.seconds * 1000);
    round.chunks = 1;
    return round;
  }

  // Ratios of the runs of one round: they ran back to back, so a change in the machine's speed
  // between rounds (these hosts drift by half within minutes) does not enter a ratio the way
  // it enters a ratio of two best times from different rounds.
  static std::vector<double> RoundRatios(const Result& num, const Result& den) {
    std::vector<double> ratios;
    for (size_t i = 0; i < num.rounds.size() && i < den.rounds.size(); ++i) {
      ratios.push_back(num.rounds[i].seconds / den.rounds[i].seconds);
    }
    return ratios;
  }
  static std::string Range(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    char text[64];
    std::snprintf(text, sizeof text, "%.2f-%.2f", v.front(), v.back());
    return text;
  }

  // The targets, for one way of running warden: the median of the rounds' ratios.
  bool Targets(const Result& warden, const Result& pt, const Result& single) {
    std::printf("%s (median of the rounds' ratios; their range):\n", warden.method.c_str());
    bool ok = true;
    if (pt.ran()) {
      const std::vector<double> speedups = RoundRatios(pt, warden);
      const double speedup = warden::bench::Median(speedups);
      std::printf("  vs pt-archiver:        %.2fx faster (%s; target >= 2.5x)  %s\n", speedup,
                  Range(speedups).c_str(), speedup >= 2.5 ? "ok" : "MISSED");
      ok = ok && speedup >= 2.5;
    }
    const std::vector<double> ratios = RoundRatios(warden, single);
    const double ratio = warden::bench::Median(ratios);
    std::printf("  vs single transaction: %.2fx its time (%s; target <= 1.3x)  %s\n", ratio,
                Range(ratios).c_str(), ratio <= 1.3 ? "ok" : "MISSED");
    int64_t longest = 0;
    for (const Round& r : warden.rounds) longest = std::max(longest, r.longest_chunk_ms);
    std::printf("  longest chunk:         %lld ms in any round (target <= 250 ms)  %s\n",
                static_cast<long long>(longest), longest <= 250 ? "ok" : "MISSED");
    ok = ok && ratio <= 1.3 && longest <= 250;
    std::printf(
        "  counting the purge each leaves behind (best times): %.2fx faster than pt-archiver, "
        "%.2fx the single transaction's time\n",
        pt.ran() ? pt.best_purged() / warden.best_purged() : 0.0,
        warden.best_purged() / single.best_purged());
    return ok;
  }

  void Report(const std::vector<const Result*>& wardens, const Result& pt, const Result& single) {
    std::printf("\n%-36s %9s %10s %16s %14s %14s   (best of %d)\n", "method", "seconds", "rows/s",
                "longest chunk", "until purged", "server CPU", options_.rounds);
    std::vector<const Result*> all = wardens;
    all.insert(all.end(), {&pt, &single});
    for (const Result* r : all) {
      if (!r->ran()) {
        std::printf("%-36s %9s\n", r->method.c_str(), "skipped");
        continue;
      }
      const Round& b = r->best();
      std::string chunk = b.longest_chunk_ms < 0 ? "n/a"
                                                 : std::to_string(b.longest_chunk_ms) + " ms (" +
                                                       Thousands(b.chunks) + " tx)";
      char cpu[64];
      std::snprintf(cpu, sizeof cpu, "%.1f/%.1fs", b.cpu_seconds, b.purged_cpu_seconds);
      std::printf("%-36s %9.2f %10s %16s %13.2fs %14s\n", r->method.c_str(), b.seconds,
                  Thousands(static_cast<int64_t>(inactive_ / b.seconds)).c_str(), chunk.c_str(),
                  r->best_purged(), cpu);
    }
    std::printf("(server CPU: all of mariadbd's threads, to the end / until purged)\n\n");
    std::string met;
    for (const Result* w : wardens) {
      if (Targets(*w, pt, single)) met += (met.empty() ? "" : ", ") + w->method;
    }
    std::printf("members bench: %s\n",
                met.empty() ? "some targets missed" : ("all targets met by " + met).c_str());
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
    std::printf("members bench: MariaDB %s, buffer pool 1G\n",
                db_.Query("SELECT VERSION()")[0][0]->c_str());
    Generate();
    Result warden{"warden members migrate", {}};
    Result parallel{"warden members migrate --parallel " + std::to_string(options_.parallel), {}};
    Result pt{"pt-archiver --limit 1000 (bulk)", {}};
    Result single{"one INSERT...SELECT + DELETE", {}};
    auto show = [](int n, const char* method, const Round& r) {
      std::printf("round %d: %-30s %6.2fs  until purged %6.2fs  server CPU %5.1f/%5.1fs", n, method,
                  r.seconds, r.purged_seconds, r.cpu_seconds, r.purged_cpu_seconds);
      if (r.chunks > 1) {
        std::printf("  %lld chunks, longest %lld ms  phases_ms %s",
                    static_cast<long long>(r.chunks), static_cast<long long>(r.longest_chunk_ms),
                    r.phases.c_str());
      }
      std::printf("\n");
      std::fflush(stdout);
    };
    for (int round = 1; round <= options_.rounds; ++round) {
      Restore();
      warden.rounds.push_back(Warden(1));
      show(round, "warden members migrate", warden.rounds.back());
      if (options_.parallel > 1) {
        Restore();
        parallel.rounds.push_back(Warden(options_.parallel));
        show(round, "warden --parallel", parallel.rounds.back());
      }
      if (!options_.skip_pt) {
        Restore();
        if (auto r = PtArchiver()) {
          pt.rounds.push_back(*r);
          show(round, "pt-archiver", *r);
        }
      }
      Restore();
      single.rounds.push_back(SingleTransaction());
      show(round, "single transaction", single.rounds.back());
      for (const Result* w : {&warden, &parallel}) {
        if (!w->ran()) continue;
        std::printf("round %d: %s %.2fx faster than pt-archiver, %.2fx the single transaction\n",
                    round, w->method.c_str(),
                    pt.rounds.size() == w->rounds.size()
                        ? pt.rounds.back().seconds / w->rounds.back().seconds
                        : 0.0,
                    w->rounds.back().seconds / single.rounds.back().seconds);
      }
    }
    if (options_.parallel > 1) {
      Report({&warden, &parallel}, pt, single);
    } else {
      Report({&warden}, pt, single);
    }
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
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
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
    } else if (arg == "--parallel") {
      options.parallel = std::max(1, std::stoi(value()));
    } else if (arg == "--skip-pt-archiver") {
      options.skip_pt = true;
    } else if (arg == "--skip-dedupe") {
      options.skip_dedupe = true;
    } else if (arg == "--server-option") {
      options.server_options.push_back(value());
    } else {
      Die("usage: members_bench [--members N] [--rounds N] [--parallel N] [--skip-pt-archiver] "
          "[--skip-dedupe] "
          "[--server-option --name=value ...]");
    }
  }
  try {
    Bench bench(options);
    return bench.Main();
  } catch (const std::exception& e) {
    Die(e.what());
  }
}
