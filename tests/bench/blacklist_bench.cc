// `make bench` for the blacklist: everything measured in one run on this machine, each figure
// next to its baseline, because absolute numbers on shared machines mean little.
//   1. requests/s of stock nginx vs nginx + Warden with a large blacklist loaded and the
//      warden_json access log on (same worker count, alternating rounds, medians);
//   2. ban-to-enforcement latency across two nginx instances sharing one Redis;
//   3. shared memory per entry.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <sstream>
#include <string>
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

std::string ServerHttp(bool warden, int redis_port, const std::string& zone,
                       bool behaviour = false) {
  std::string http;
  if (behaviour) http += kBehaviourRules;
  if (warden) {
    http += "warden_redis 127.0.0.1:" + std::to_string(redis_port) +
            ";\n"
            "warden_blacklist_zone " +
            zone +
            ";\n"
            "warden_geoip @MMDB@;\n"
            "include @CONF@/warden-log-format.conf;\n"
            "access_log @DIR@/access.log warden_json;\n";
  } else {
    // The same JSON line without Warden's three fields, written the same way (the shipped
    // format minus its Warden line): the ratio measures Warden, not a longer or differently
    // split log format.
    http += PlainLogFormat() + "access_log @DIR@/access.log plain_json;\n";
  }
  http += "server {\n  listen 127.0.0.1:@PORT@;\n" + std::string(warden ? "  warden on;\n" : "") +
          "  location / { root @DIR@/html; }\n}\n";
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
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
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
    else {
      std::fprintf(stderr, "blacklist_bench: unknown option %s\n", k.c_str());
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

  NginxServer::Options plain_opts, warden_opts, behaviour_opts;
  plain_opts.load_module = false;
  plain_opts.http = ServerHttp(false, redis.port(), s.zone);
  warden_opts.http = ServerHttp(true, redis.port(), s.zone);
  behaviour_opts.http = ServerHttp(true, redis.port(), s.zone, true);
  plain_opts.workers = warden_opts.workers = behaviour_opts.workers = 1;
  plain_opts.main = warden_opts.main = behaviour_opts.main = "worker_cpu_affinity 01;\n";
  NginxServer plain(plain_opts);
  NginxServer guarded(warden_opts);
  NginxServer watching(behaviour_opts);
  long load_ms = 0;
  if (!PollUntil([&] { return LoadedEntries(guarded, &load_ms) >= 0; }, 120s) ||
      !PollUntil([&] { return LoadedEntries(watching, nullptr) >= 0; }, 120s)) {
    std::fprintf(stderr, "warden never loaded the list:\n%s\n", guarded.ErrorLog().c_str());
    return 1;
  }
  long loaded = LoadedEntries(guarded, &load_ms);
  std::printf("nginx worker loaded %ld entries from redis in %ld ms (in the background)\n", loaded,
              load_ms);
  if (guarded.Get("/").status != 200 || plain.Get("/").status != 200 ||
      watching.Get("/").status != 200) {
    std::fprintf(stderr, "the benchmark page does not answer 200\n");
    return 1;
  }

  std::printf(
      "\n== throughput: wrk -t1 -c%d on CPU 1, one nginx worker on CPU 0, "
      "%d s x %d rounds, alternating ==\n",
      s.connections, s.seconds, s.rounds);
  std::vector<double> plain_rps, warden_rps, plain_p99, warden_p99, ratios, cpu_ratios;
  std::vector<double> behaviour_rps, behaviour_cpu_ratios;
  for (int r = 0; r < s.rounds; ++r) {
    // Alternate who goes first, so drift in the machine's load hits all alike.
    WrkResult a, b, c;
    if (r % 2 == 0) {
      a = Wrk(plain, s);
      b = Wrk(guarded, s);
      c = Wrk(watching, s);
    } else {
      c = Wrk(watching, s);
      b = Wrk(guarded, s);
      a = Wrk(plain, s);
    }
    behaviour_rps.push_back(c.rps);
    behaviour_cpu_ratios.push_back(b.per_cpu_second > 0 ? c.per_cpu_second / b.per_cpu_second : 0);
    plain_rps.push_back(a.rps);
    plain_p99.push_back(a.p99_ms);
    warden_rps.push_back(b.rps);
    warden_p99.push_back(b.p99_ms);
    ratios.push_back(a.rps > 0 ? b.rps / a.rps : 0);
    cpu_ratios.push_back(a.per_cpu_second > 0 ? b.per_cpu_second / a.per_cpu_second : 0);
    std::printf(
        "round %d: stock %.0f req/s, warden %.0f req/s, ratio %.3f; per worker CPU "
        "second %.0f vs %.0f, ratio %.3f\n",
        r + 1, a.rps, b.rps, ratios.back(), a.per_cpu_second, b.per_cpu_second, cpu_ratios.back());
  }
  double ratio = Median(ratios);
  std::printf("stock nginx              : %8.0f req/s  p99 %.2f ms\n", Median(plain_rps),
              Median(plain_p99));
  std::printf("nginx + warden (%ld)  : %8.0f req/s  p99 %.2f ms\n", loaded, Median(warden_rps),
              Median(warden_p99));
  std::printf("ratio warden/stock       : %.3f   (median of the rounds' ratios; target >= 0.95)\n",
              ratio);
  // What one worker can do per second of CPU: the same ratio with less of the noise that
  // other processes on this machine add to wall-clock figures.
  std::printf("requests per worker CPU-second, warden/stock: %.3f (median of the rounds)\n",
              Median(cpu_ratios));
  // Two behaviour rules on benign traffic against the same Warden without them.
  std::printf("nginx + warden + 2 behaviour rules: %8.0f req/s\n", Median(behaviour_rps));
  std::printf(
      "requests per worker CPU-second, with rules/without: %.3f (median of the rounds; "
      "target >= 0.98: at most 2%% more CPU per request)\n",
      Median(behaviour_cpu_ratios));

  std::printf("\n== ban-to-enforcement latency: %d bans, 2 nginx instances, one redis ==\n",
              s.bans);
  NginxServer second(warden_opts);
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
