// `make bench` for the blacklist: everything measured in one run on this machine, each figure
// next to its baseline, because absolute numbers on shared machines mean little.
//   1. requests per worker CPU-second of nginx + Warden with a large blacklist loaded, against
//      stock nginx writing the same JSON log line minus Warden's fields: (a) `warden on`, (b)
//      with the warden_json line and country, (c) (b) plus warden_top_zone and an interval
//      limit, two behaviour rules against (b), and warden_top_zone's counting against (b)
//      (issue 14: at most 2%) (alternating rounds, medians); cycles per
//      request where perf can count them;
//      --paired serves each configuration at the same time as its baseline, both workers on
//      one core, for ratios the host's drifting speed cannot tilt; --only picks configurations;
//   2. ban-to-enforcement latency across two nginx instances sharing one Redis;
//   3. shared memory per entry.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "common/redis_schema.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

using namespace warden::test;
using warden::bench::CpuSeconds;
using warden::bench::Median;
using warden::bench::Percentile;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct BlacklistBenchSettings {
  long entries = 1000000;
  int seconds = 3;
  int rounds = 10;  // this machine is noisy: the median of many short alternating rounds
  int connections = 32;
  int bans = 100;
  std::string zone = "64m";
  // --only a,b,c,behaviour,top: just these (with stock and their baselines), more rounds in the
  // same time for one ratio; the ban latency and memory parts are skipped.
  std::vector<std::string> only;
  // --paired: each configuration and its baseline served at the same time, their workers sharing
  // CPU 0 (two wrk on CPU 1), so that the host's speed, which drifts from second to second on a
  // shared machine, is the same for both sides of every ratio.
  bool paired = false;
};

// A blacklist shaped like a real one: mostly single IPv4 addresses (scanners, feeds), some
// IPv4 networks, some IPv6. Nothing in 127.0.0.0/8, where the benchmark's clients live.
std::string WriteEntries(const TempDir& dir, long count) {
  std::mt19937_64 rng(2026);
  std::string path = dir.File("blacklist.txt");
  std::ofstream out(path);
  auto v4 = [&](int len) {
    uint32_t a;
    do {
      a = static_cast<uint32_t>(rng());
    } while ((a >> 24) == 127 || (a >> 24) == 0);
    if (len < 32) a &= ~uint32_t{0} << (32 - len);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                  a & 255);
    return len == 32 ? std::string(buf) : std::string(buf) + "/" + std::to_string(len);
  };
  for (long i = 0; i < count; ++i) {
    int kind = static_cast<int>(rng() % 100);
    if (kind < 85) {
      out << v4(32) << "\n";
    } else if (kind < 93) {
      out << v4(24) << "\n";
    } else if (kind < 95) {
      out << v4(static_cast<int>(16 + rng() % 8)) << "\n";
    } else {
      char buf[64];
      uint64_t hi = rng() | 0x2000000000000000ULL;
      if (kind < 98) {
        std::snprintf(buf, sizeof buf, "%x:%x:%x:%x::%x", unsigned(hi >> 48) & 0xffff,
                      unsigned(hi >> 32) & 0xffff, unsigned(hi >> 16) & 0xffff,
                      unsigned(hi) & 0xffff, unsigned(rng()) & 0xffff);
      } else {
        std::snprintf(buf, sizeof buf, "%x:%x:%x::/48", unsigned(hi >> 48) & 0xffff,
                      unsigned(hi >> 32) & 0xffff, unsigned(hi >> 16) & 0xffff);
      }
      out << buf << "\n";
    }
  }
  return path;
}

struct WrkResult {
  double rps = 0;
  double p99_ms = 0;
  double per_cpu_second = 0;  // requests per second of the nginx worker's CPU time
};

WrkResult Wrk(const NginxServer& nginx, const BlacklistBenchSettings& s) {
  int port = nginx.port();
  pid_t worker = nginx.WorkerPids().at(0);
  double cpu_before = CpuSeconds(worker);
  warden::bench::WrkRun run = warden::bench::RunWrk(port, "/", s.connections, s.seconds);
  WrkResult w;
  w.rps = run.rps;
  w.p99_ms = run.p99_ms;
  double cpu = CpuSeconds(worker) - cpu_before;
  if (cpu > 0) w.per_cpu_second = static_cast<double>(run.requests) / cpu;
  if (run.non_2xx)
    std::fprintf(stderr, "warning: wrk saw non-2xx responses:\n%s\n", run.output.c_str());
  if (w.rps == 0) std::fprintf(stderr, "wrk failed: %s\n", run.output.c_str());
  return w;
}

// conf/warden-log-format.conf without the line of Warden's fields, named plain_json.
std::string PlainLogFormat() {
  std::ifstream in(std::string(WARDEN_CONF_DIR) + "/warden-log-format.conf");
  std::string line, format;
  bool dropped = false;
  while (std::getline(in, line)) {
    if (line.find("$warden_") != std::string::npos) {
      dropped = true;
      continue;
    }
    if (line.rfind('#', 0) == 0) continue;
    format += line + "\n";
  }
  size_t name = format.find("warden_json");
  if (!dropped || name == std::string::npos) {
    std::fprintf(stderr, "conf/warden-log-format.conf: no warden_json format to compare with\n");
    std::exit(1);
  }
  return format.replace(name, 11, "plain_json");
}

// Two behaviour rules (docs/behaviour.md) watched by the whole server: their cost on benign
// traffic, where every response is a 200 that no rule counts.
const char* const kBehaviourRules =
    "warden_behaviour name=probe status=400,403,404 distinct=path capacity=10 leak=10s;\n"
    "warden_behaviour name=login status=401,403 if=$upstream_http_x_login_failed capacity=5 "
    "leak=1m;\n"
    "warden_watch probe login;\n";

// The request-path configurations issue 18 measures, each against stock nginx writing the
// same JSON line without Warden's fields:
//   kOn        warden on with the list loaded, the plain log line;
//   kJson      the same with the warden_json line and country lookups;
//   kTopLimit  kJson plus warden_top_zone and an interval-mode (sync=1s) limit every request
//              passes;
//   kBehaviour kJson plus two behaviour rules on benign traffic;
//   kTop       kJson plus warden_top_zone alone: what issue 14's counting (status classes,
//              bytes, upstream time, paths, distinct paths, top path, user agent, strikes,
//              decisions) costs over Warden without it.
enum class Variant { kStock, kOn, kJson, kTopLimit, kBehaviour, kTop };

std::string ServerHttp(Variant v, int redis_port, const std::string& zone) {
  std::string http;
  if (v == Variant::kBehaviour) http += kBehaviourRules;
  bool json = v == Variant::kJson || v == Variant::kTopLimit || v == Variant::kBehaviour ||
              v == Variant::kTop;
  if (v != Variant::kStock) {
    http += "warden_redis 127.0.0.1:" + std::to_string(redis_port) +
            ";\n"
            "warden_blacklist_zone " +
            zone + ";\n";
    // warden_top_zone is on by default with warden_redis: off but where it is measured.
    http += v == Variant::kTopLimit ? "warden_top_zone 4m;\n"
                                      "warden_limit_zone $binary_remote_addr zone=api:10m "
                                      "rate=1000000r/s sync=1s;\n"
            : v == Variant::kTop    ? "warden_top_zone 4m;\n"
                                    : "warden_top_zone off;\n";
  }
  if (json) {
    http +=
        "warden_geoip @MMDB@;\n"
        "include @CONF@/warden-log-format.conf;\n"
        "access_log @DIR@/access.log warden_json;\n";
  } else {
    // The same JSON line without Warden's three fields, written the same way (the shipped
    // format minus its Warden line): the ratio measures Warden, not a longer or differently
    // split log format.
    http += PlainLogFormat() + "access_log @DIR@/access.log plain_json;\n";
  }
  http +=
      "server {\n  listen 127.0.0.1:@PORT@;\n" +
      std::string(v != Variant::kStock ? "  warden on;\n" : "") + "  location / { " +
      std::string(v == Variant::kTopLimit ? "warden_limit zone=api burst=100000 nodelay; " : "") +
      "root @DIR@/html; }\n}\n";
  return http;
}

long LoadedEntries(const NginxServer& nginx, long* load_ms) {
  static const std::regex re(R"(blacklist loaded from redis: (\d+) entries in (\d+) ms)");
  std::string log = nginx.ErrorLog();
  std::smatch m;
  long entries = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it) {
    entries = std::stol((*it)[1]);
    if (load_ms) *load_ms = std::stol((*it)[2]);
  }
  return entries;
}

}  // namespace

int main(int argc, char** argv) {
  BlacklistBenchSettings s;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--paired") {
      s.paired = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "blacklist_bench: %s needs a value\n", k.c_str());
      return 2;
    }
    std::string v = argv[i + 1];
    if (k == "--entries")
      s.entries = std::stol(v);
    else if (k == "--seconds")
      s.seconds = std::stoi(v);
    else if (k == "--rounds")
      s.rounds = std::stoi(v);
    else if (k == "--connections")
      s.connections = std::stoi(v);
    else if (k == "--bans")
      s.bans = std::stoi(v);
    else if (k == "--zone")
      s.zone = v;
    else if (k == "--only") {
      std::stringstream list(v);
      for (std::string name; std::getline(list, name, ',');) s.only.push_back(name);
    } else {
      std::fprintf(stderr, "blacklist_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  for (const auto& name : s.only) {
    if (name != "a" && name != "b" && name != "c" && name != "behaviour" && name != "top" &&
        name != "aa") {
      std::fprintf(stderr,
                   "blacklist_bench: --only: no configuration %s (a,b,c,behaviour,top,aa)\n",
                   name.c_str());
      return 2;
    }
  }
  TempDir tmp("warden-bench");
  RedisServer redis;

  std::printf("== blacklist: import of %ld entries (warden ban --file, pipelined) ==\n", s.entries);
  std::string file = WriteEntries(tmp, s.entries);
  auto t0 = Clock::now();
  auto import =
      RunWarden({.args = {"ban", "--file", file}, .redis = redis.url()}, std::nullopt, 300s);
  double import_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (import.exit_code != 0) {
    std::fprintf(stderr, "import failed: %s\n", import.err.c_str());
    return 1;
  }
  long in_redis = redis.Command({"HLEN", "warden:bl:entries"}).integer;
  std::printf("imported %ld distinct entries in %.1f s (%.0f entries/s)\n", in_redis, import_s,
              in_redis / import_s);

  struct Target {
    const char* key;  // as --only names it
    const char* name;
    Variant variant;
    double target;  // of the baseline's requests per worker CPU-second; 0: none
    int baseline;   // index of the target it is compared with
    std::unique_ptr<NginxServer> nginx;
    std::vector<double> rps, p99, cpu_ratios;
  };
  std::vector<Target> targets;
  targets.push_back({"stock", "stock nginx, JSON log", Variant::kStock, 0, 0, nullptr, {}, {}, {}});
  targets.push_back({"a", "(a) warden on", Variant::kOn, 0.98, 0, nullptr, {}, {}, {}});
  targets.push_back(
      {"b", "(b) + warden_json, country", Variant::kJson, 0.96, 0, nullptr, {}, {}, {}});
  targets.push_back(
      {"c", "(c) (b) + top + interval limit", Variant::kTopLimit, 0.95, 0, nullptr, {}, {}, {}});
  targets.push_back({"behaviour",
                     "(b) + 2 behaviour rules, vs (b)",
                     Variant::kBehaviour,
                     0.98,
                     2,
                     nullptr,
                     {},
                     {},
                     {}});
  targets.push_back(
      {"top", "(b) + top counting, vs (b)", Variant::kTop, 0.98, 2, nullptr, {}, {}, {}});
  // The bench itself: stock nginx against another stock nginx (--only aa). Paired, a ratio
  // away from 1 is the pairing's own bias.
  targets.push_back({"aa", "A/A: stock against stock", Variant::kStock, 0, 0, nullptr, {}, {}, {}});
  if (!s.only.empty()) {
    // Keep what was asked for, stock, and each one's baseline (indices renumbered).
    std::vector<bool> keep(targets.size(), false);
    keep[0] = true;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (std::find(s.only.begin(), s.only.end(), targets[i].key) == s.only.end()) continue;
      keep[i] = true;
      keep[static_cast<size_t>(targets[i].baseline)] = true;
    }
    std::vector<int> index(targets.size(), -1);
    std::vector<Target> kept;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (!keep[i]) continue;
      index[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(targets[i]));
    }
    for (auto& t : kept) t.baseline = index[static_cast<size_t>(t.baseline)];
    targets = std::move(kept);
  }
  for (auto& t : targets) {
    NginxServer::Options o;
    o.load_module = t.variant != Variant::kStock;
    o.http = ServerHttp(t.variant, redis.port(), s.zone);
    o.workers = 1;
    o.main = "worker_cpu_affinity 01;\n";
    t.nginx = std::make_unique<NginxServer>(o);
  }
  long load_ms = 0, loaded = -1;
  for (auto& t : targets) {
    if (t.variant == Variant::kStock) continue;
    long ms = 0;
    if (!PollUntil([&] { return LoadedEntries(*t.nginx, &ms) >= 0; }, 120s)) {
      std::fprintf(stderr, "warden never loaded the list:\n%s\n", t.nginx->ErrorLog().c_str());
      return 1;
    }
    if (loaded < 0) {
      loaded = LoadedEntries(*t.nginx, &load_ms);
    }
  }
  std::printf("nginx worker loaded %ld entries from redis in %ld ms (in the background)\n", loaded,
              load_ms);
  for (auto& t : targets) {
    if (t.nginx->Get("/").status != 200) {
      std::fprintf(stderr, "the benchmark page does not answer 200 (%s)\n", t.name);
      return 1;
    }
  }

  std::printf(
      "\n== throughput: wrk -t1 -c%d on CPU 1, one nginx worker on CPU 0, "
      "%d s x %d rounds, %s; load average %.2f ==\n",
      s.connections, s.seconds, s.rounds,
      s.paired ? "each configuration at the same time as its baseline" : "alternating",
      warden::bench::LoadAverage());
  for (int r = 0; s.paired && r < s.rounds; ++r) {
    std::printf("round %d: ratios:", r + 1);
    for (size_t i = 1; i < targets.size(); ++i) {
      Target& t = targets[i];
      Target& base = targets[static_cast<size_t>(t.baseline)];
      WrkResult wb;
      std::thread beside([&] { wb = Wrk(*base.nginx, s); });
      WrkResult wi = Wrk(*t.nginx, s);
      beside.join();
      t.rps.push_back(wi.rps);
      t.p99.push_back(wi.p99_ms);
      base.rps.push_back(wb.rps);
      base.p99.push_back(wb.p99_ms);
      t.cpu_ratios.push_back(wb.per_cpu_second > 0 ? wi.per_cpu_second / wb.per_cpu_second : 0);
      std::printf(" %.3f", t.cpu_ratios.back());
    }
    std::printf("\n");
  }
  for (int r = 0; !s.paired && r < s.rounds; ++r) {
    // Alternate the order, so drift in the machine's load hits all alike.
    std::vector<WrkResult> w(targets.size());
    for (size_t k = 0; k < targets.size(); ++k) {
      size_t i = r % 2 == 0 ? k : targets.size() - 1 - k;
      w[i] = Wrk(*targets[i].nginx, s);
    }
    std::printf("round %d:", r + 1);
    for (size_t i = 0; i < targets.size(); ++i) {
      Target& t = targets[i];
      t.rps.push_back(w[i].rps);
      t.p99.push_back(w[i].p99_ms);
      const WrkResult& base = w[t.baseline];
      if (i > 0) {
        t.cpu_ratios.push_back(base.per_cpu_second > 0 ? w[i].per_cpu_second / base.per_cpu_second
                                                       : 0);
        std::printf(" %.3f", t.cpu_ratios.back());
      } else {
        std::printf(" stock %.0f req/s per worker CPU-second, ratios:", w[i].per_cpu_second);
      }
    }
    std::printf("\n");
  }
  std::printf("%-34s %10s %9s %12s %8s\n", "", "req/s", "p99 ms", "per CPU-s", "target");
  for (auto& t : targets) {
    if (t.cpu_ratios.empty()) {
      std::printf("%-34s %10.0f %9.2f %12s %8s\n", t.name, Median(t.rps), Median(t.p99), "1", "");
      continue;
    }
    double ratio = Median(t.cpu_ratios);
    if (t.target <= 0) {
      std::printf("%-34s %10.0f %9.2f %12.3f\n", t.name, Median(t.rps), Median(t.p99), ratio);
      continue;
    }
    std::printf("%-34s %10.0f %9.2f %12.3f %8s %s\n", t.name, Median(t.rps), Median(t.p99), ratio,
                (">= " + std::to_string(t.target).substr(0, 4)).c_str(),
                ratio >= t.target ? "PASS" : "MISS");
  }
  std::printf(
      "(per CPU-s: requests per second of the nginx worker's CPU time, against stock nginx, or\n"
      " against (b) for the behaviour rules and the top counting; median of the rounds' ratios)\n");
  if (s.paired) std::printf("(paired: req/s with two configurations sharing the worker's core)\n");
  std::printf("load average after the rounds: %.2f\n", warden::bench::LoadAverage());
  std::string no_perf;
  if (warden::bench::PerfCyclesUsable(&no_perf)) {
    std::printf("cycles per request (perf stat on the worker, one more %d s run each):\n",
                s.seconds);
    for (auto& t : targets) {
      warden::bench::WrkRun run;
      auto cycles = warden::bench::PerfCycles(t.nginx->WorkerPids().at(0), [&] {
        run = warden::bench::RunWrk(t.nginx->port(), "/", s.connections, s.seconds);
      });
      if (cycles && run.requests > 0) {
        std::printf("  %-32s %8.0f\n", t.name, *cycles / static_cast<double>(run.requests));
      }
    }
  } else {
    std::printf("cycles per request: not measured, %s; `make profile` counts instructions\n",
                no_perf.c_str());
  }
  if (!s.only.empty()) return 0;
  const NginxServer& guarded = *targets[1].nginx;

  std::printf("\n== ban-to-enforcement latency: %d bans, 2 nginx instances, one redis ==\n",
              s.bans);
  NginxServer::Options second_opts;
  second_opts.http = ServerHttp(Variant::kOn, redis.port(), s.zone);
  second_opts.workers = 1;
  NginxServer second(second_opts);
  if (!PollUntil([&] { return LoadedEntries(second, nullptr) >= 0; }, 120s)) {
    std::fprintf(stderr, "second instance never loaded the list\n");
    return 1;
  }
  warden::RedisSchema schema;
  std::vector<double> latencies;
  for (int i = 1; i <= s.bans; ++i) {
    std::string ip = "127.0.1." + std::to_string(i);
    std::string value = "v1\t0\t0\tmanual\tbench\tlatency";
    auto ban = redis.Command({"EVAL", warden::RedisSchema::kApplyChangesScript, "5",
                              schema.BlacklistEntries(), schema.BlacklistExpiry(),
                              schema.BlacklistSeq(), schema.BlacklistLog(), schema.BlacklistEpoch(),
                              "100000", "bench", "add", ip, "0", value});
    auto start = Clock::now();  // the ban is committed in Redis
    if (ban.is_error()) {
      std::fprintf(stderr, "ban failed: %s\n", ban.str.c_str());
      return 1;
    }
    bool a_done = false, b_done = false;
    while (!(a_done && b_done) && Clock::now() - start < 5s) {
      if (!a_done) a_done = HttpGet("127.0.0.1", guarded.port(), "/", {}, 1s, ip).status == 403;
      if (!b_done) b_done = HttpGet("127.0.0.1", second.port(), "/", {}, 1s, ip).status == 403;
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!(a_done && b_done)) {
      std::fprintf(stderr, "ban of %s not enforced within 5 s\n", ip.c_str());
      return 1;
    }
    latencies.push_back(ms);
  }
  std::printf("median %.2f ms   p99 %.2f ms   max %.2f ms   (bound 1000 ms, aim 100 ms)\n",
              Median(latencies), Percentile(latencies, 0.99),
              *std::max_element(latencies.begin(), latencies.end()));

  std::printf("\n== shared memory ==\n");
  std::smatch m;
  std::string log = guarded.ErrorLog();
  long capacity = 0;
  if (std::regex_search(log, m, std::regex(R"(warden_blacklist_zone holds up to (\d+) entries)"))) {
    capacity = std::stol(m[1]);
  }
  long zone_bytes = std::stol(s.zone) << (s.zone.back() == 'm'   ? 20
                                          : s.zone.back() == 'k' ? 10
                                                                 : 0);
  std::printf(
      "warden_blacklist_zone %s: %ld entries loaded, room for %ld: %.1f bytes per entry "
      "at capacity\n",
      s.zone.c_str(), loaded, capacity, capacity ? double(zone_bytes) / capacity : 0.0);
  return 0;
}
