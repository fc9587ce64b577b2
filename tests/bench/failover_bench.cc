// `make bench` for Redis topologies (issue 13), two parts:
//
// 1. Sentinel failover: a primary, a replica and three Sentinels on loopback
//    (support/sentinel_topology.h) and two nginx nodes with `warden_redis sentinel://...`.
//    Per run: `kill -9` of the primary, then `warden ban ADDR` tried until it is accepted
//    (by the promoted replica), and both nodes polled until both refuse ADDR (403, the
//    address given by X-Forwarded-For through realip). The figure is the time from the kill
//    to the first moment both nodes enforce the ban, printed next to Sentinel's own
//    down-after-milliseconds; meanwhile each node gets a request every 20 ms and the slowest
//    is compared with the module's timeout=. A fresh topology per run: a Sentinel does not
//    fail the same master over again within 2x failover-timeout, and a returning old primary
//    takes ~20 s to be turned into a replica, so building anew is the faster way to repeat.
//    Each run also prints the failover's timeline from the Sentinels' and the replica's logs
//    (+sdown ... +elected-leader, +failover-state-wait-promotion, the replica's REPLICAOF NO
//    ONE, +promoted-slave, +switch-master).
//
//    Then the same on a Redis Cluster (3 primaries with a replica each): kill -9 of the
//    primary of the blacklist's slot, the time to a new ban enforced on both nodes, next to
//    cluster-node-timeout.
//
// 2. What one Redis spends on one node (the scaling model in docs/topology.md): Redis's own
//    CPU time (INFO cpu, user + sys) and commands, with one nginx node idle, serving
//    sync=exact requests one at a time (one key per script call) and from 32 connections
//    (keys grouped per script call), and serving sync=100ms with and without warden_top_zone.
//
// Figures are printed, never asserted.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "common/cluster_slots.h"
#include "common/redis_schema.h"
#include "support/http_client.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/sentinel_topology.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

using namespace warden::test;
using warden::bench::LoadAverage;
using warden::bench::Median;
using warden::bench::Percentile;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kTimeoutMs = 300;  // the module's timeout= in both parts

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A field of a Sentinel's SENTINEL MASTER reply (a flat name/value array), or "".
std::string Field(const RedisValue& reply, const std::string& name) {
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str == name) return reply.elements[i + 1].str;
  }
  return "";
}

// A node: realip from X-Forwarded-For (so a run can ban a fresh address), the blacklist, and
// an exact limit high enough never to refuse (so a request may wait on Redis, within
// timeout=, as a real exact-mode request does).
NginxServer::Options FailoverNode(const std::string& redis) {
  NginxServer::Options o;
  o.http = "warden_redis " + redis + " timeout=" + std::to_string(kTimeoutMs) + "ms;\n" +
           "warden_limit_zone $binary_remote_addr zone=ex:1m rate=1000000r/s sync=exact;\n"
           "access_log off;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n"
           "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
           "  warden on;\n"
           "  location / { warden_limit zone=ex burst=1000 nodelay; }\n}\n";
  return o;
}

int StatusFor(const NginxServer& node, const std::string& address) {
  return HttpGet("127.0.0.1", node.port(), "/", {{"X-Forwarded-For", address}}, 5s).status;
}

// Milliseconds since local midnight, as Redis stamps its log lines ("... 13:05:48.123 # ...").
long long TimeOfDayMs(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ((tm.tm_hour * 60LL + tm.tm_min) * 60 + tm.tm_sec) * 1000 + ms % 1000;
}

// The events of a failover, in the order Sentinel goes through them, and which log holds them:
// the Sentinels' (the leader alone logs its own steps, from +elected-leader on) or the promoted
// replica's ("MASTER MODE enabled": the moment it obeys REPLICAOF NO ONE).
struct TimelineEvent {
  const char* text;  // how the log line's message starts
  bool replica_log;
};
const std::vector<TimelineEvent> kTimeline = {
    {"+sdown master", false},      {"+odown", false},
    {"+try-failover", false},      {"+elected-leader", false},
    {"+selected-slave", false},    {"+failover-state-wait-promotion", false},
    {"MASTER MODE enabled", true}, {"+promoted-slave", false},
    {"+switch-master", false},
};

// When each timeline event first appears in the logs, in ms after `killed_tod` (-1: not seen):
// where the time before the ban is accepted goes. Redis stamps a line with its level: '#'
// warning, '*' notice (Sentinel logs +failover-state-* at notice, the default level).
std::vector<long long> TimelineOf(SentinelTopology& topo, long long killed_tod) {
  std::vector<long long> first(kTimeline.size(), -1);
  auto scan = [&](const std::string& path, bool replica_log) {
    std::istringstream log(ReadFile(path));
    std::string line;
    while (std::getline(log, line)) {
      // "PID:X 07 Dec 2026 13:05:48.123 # +switch-master ..."
      size_t mark = line.find(" # ");
      if (mark == std::string::npos) mark = line.find(" * ");
      if (mark == std::string::npos || mark < 12) continue;
      int h = 0, m = 0, sec = 0, ms = 0;
      if (std::sscanf(line.c_str() + mark - 12, "%d:%d:%d.%d", &h, &m, &sec, &ms) != 4) continue;
      long long at = ((h * 60LL + m) * 60 + sec) * 1000 + ms - killed_tod;
      if (at < 0) continue;
      for (size_t e = 0; e < kTimeline.size(); ++e) {
        const std::string text = kTimeline[e].text;
        if (kTimeline[e].replica_log == replica_log &&
            line.compare(mark + 3, text.size(), text) == 0 && (first[e] < 0 || at < first[e])) {
          first[e] = at;
        }
      }
    }
  };
  for (int s = 0; s < 3; ++s) scan(topo.sentinel(s).log_path(), false);
  scan(topo.replica().log_path(), true);
  return first;
}

struct FailoverRun {
  bool ok = false;
  std::string why;         // when not ok
  double ban_ms = 0;       // kill -> `warden ban` accepted
  double enforced_ms = 0;  // kill -> both nodes answer 403
  int ban_attempts = 0;
  double slowest_ms = 0;  // the slowest probe request during the failover
  int probes = 0;
  int probe_failures = 0;           // probes that got no 200
  std::vector<long long> timeline;  // kTimeline, ms after the kill
};

// The figures of a part's runs: each run's line, and what the summary needs.
struct FailoverRuns {
  std::vector<double> enforced, bans;
  double slowest = 0;
  int probes = 0, probe_failures = 0, failed = 0;

  // Prints run `r`'s line; false (after saying why) when it gave no figure.
  bool Add(int r, const FailoverRun& f) {
    if (!f.ok) {
      ++failed;
      std::printf("run %d: no figure: %s\n", r, f.why.c_str());
      return false;
    }
    enforced.push_back(f.enforced_ms);
    bans.push_back(f.ban_ms);
    slowest = std::max(slowest, f.slowest_ms);
    probes += f.probes;
    probe_failures += f.probe_failures;
    std::printf(
        "run %d: ban accepted %.0f ms after the kill (%d tries), enforced on both %.0f ms; "
        "slowest request %.1f ms of %d\n",
        r, f.ban_ms, f.ban_attempts, f.enforced_ms, f.slowest_ms, f.probes);
    return true;
  }
  void PrintSlowest() const {
    std::printf(
        "slowest request during the failovers: %.1f ms of %d (module timeout= %d ms: %s); "
        "%d not answered 200\n",
        slowest, probes, kTimeoutMs, slowest <= kTimeoutMs ? "within" : "PAST IT", probe_failures);
  }
};

// One run on two nodes of the deployment at `url`: a ban before reaches both, then `kill`,
// `warden ban` tried until accepted and both nodes polled until they refuse the address, with
// a probe request every 20 ms to each meanwhile. `killed_tod`: when the kill was, for logs.
FailoverRun KillAndBan(const std::string& url, int run, const std::function<void()>& kill,
                       const std::vector<NginxServer*>& nodes, long long* killed_tod) {
  FailoverRun result;
  // Warm up: a ban before the failover reaches both nodes (their followers are connected).
  const std::string warm = "198.51.100." + std::to_string(run % 200 + 1);
  if (RunWarden({.args = {"ban", warm}, .redis = url}).exit_code != 0) {
    result.why = "the ban before the failover failed";
    return result;
  }
  for (NginxServer* n : nodes) {
    if (!PollUntil([&] { return StatusFor(*n, warm) == 403; }, 15s)) {
      result.why = "the ban before the failover did not reach a node";
      return result;
    }
  }

  // Probes: a request every 20 ms to each node, from an address never banned.
  std::atomic<bool> stop{false};
  std::vector<double> slowest(nodes.size(), 0);
  std::vector<int> probes(nodes.size(), 0), failures(nodes.size(), 0);
  std::vector<std::thread> probers;
  for (size_t i = 0; i < nodes.size(); ++i) {
    probers.emplace_back([&, i] {
      while (!stop) {
        auto start = Clock::now();
        int status = StatusFor(*nodes[i], "203.0.113.1");
        slowest[i] = std::max(slowest[i], MsSince(start));
        ++probes[i];
        failures[i] += status != 200;
        std::this_thread::sleep_until(start + 20ms);
      }
    });
  }

  const std::string address = "192.0.2." + std::to_string(run % 200 + 1);
  *killed_tod = TimeOfDayMs(std::chrono::system_clock::now());
  const auto killed = Clock::now();
  kill();
  bool banned = false;
  while (!banned && MsSince(killed) < 30000) {
    ++result.ban_attempts;
    RunResult r = RunWarden({.args = {"ban", address}, .redis = url}, std::nullopt, 10s);
    banned = r.exit_code == 0;
    if (!banned) std::this_thread::sleep_for(20ms);
  }
  result.ban_ms = MsSince(killed);
  bool enforced = false;
  if (banned) {
    std::vector<bool> refusing(nodes.size(), false);
    while (MsSince(killed) < 45000) {
      for (size_t i = 0; i < nodes.size(); ++i) {
        // Once a node has the ban it keeps it: only the ones still missing are polled.
        if (!refusing[i]) refusing[i] = StatusFor(*nodes[i], address) == 403;
      }
      if (std::all_of(refusing.begin(), refusing.end(), [](bool r) { return r; })) {
        enforced = true;
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  result.enforced_ms = MsSince(killed);
  stop = true;
  for (auto& t : probers) t.join();
  for (size_t i = 0; i < nodes.size(); ++i) {
    result.slowest_ms = std::max(result.slowest_ms, slowest[i]);
    result.probes += probes[i];
    result.probe_failures += failures[i];
  }
  if (!banned) {
    result.why = "`warden ban` was not accepted within 30 s of the kill";
  } else if (!enforced) {
    result.why = "the ban did not reach both nodes within 45 s of the kill";
  } else {
    result.ok = true;
  }
  return result;
}

FailoverRun OneFailover(int run, int* down_after_ms) {
  SentinelTopology topo;
  *down_after_ms =
      std::stoi(Field(topo.sentinel(0).Command({"SENTINEL", "MASTER", SentinelTopology::kMaster}),
                      "down-after-milliseconds"));
  NginxServer a(FailoverNode(topo.url()));
  NginxServer b(FailoverNode(topo.url()));
  long long killed_tod = 0;
  FailoverRun result = KillAndBan(
      topo.url(), run, [&] { topo.KillPrimary(); }, {&a, &b}, &killed_tod);
  if (!result.ok && killed_tod == 0) return result;  // before the kill
  // The nodes may enforce the ban before the Sentinels announce the promotion: wait for
  // +switch-master in their logs (bounded; after the figures are taken) to show the whole
  // timeline.
  PollUntil(
      [&] {
        for (int s = 0; s < 3; ++s) {
          if (ReadFile(topo.sentinel(s).log_path()).find("+switch-master") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      10s, 50ms);
  result.timeline = TimelineOf(topo, killed_tod);
  return result;
}

// A Redis Cluster's failover: three primaries with a replica each; the primary of the
// blacklist's slot is killed and the cluster promotes its replica after cluster-node-timeout.
FailoverRun OneClusterFailover(int run, int* node_timeout_ms) {
  RedisCluster::Options options;
  options.replicas = 1;
  RedisCluster cluster(options);
  *node_timeout_ms = options.node_timeout_ms;
  NginxServer a(FailoverNode(cluster.url()));
  NginxServer b(FailoverNode(cluster.url()));
  const size_t owner = cluster.OwnerOf(warden::ClusterKeySlot(
      warden::RedisSchema("warden:", warden::RedisSchema::Layout::kCluster).BlacklistEntries()));
  long long killed_tod = 0;
  return KillAndBan(
      cluster.url(), run, [&] { cluster.node(owner).Kill(); }, {&a, &b}, &killed_tod);
}

// Redis's own counters, for the cost part.
struct RedisCounters {
  double cpu_s = 0;  // used_cpu_user + used_cpu_sys
  long long commands = 0;
  long long script_calls = 0;  // EVALSHA + EVAL
};

long long CommandCalls(const std::string& info, const std::string& command) {
  size_t at = info.find("cmdstat_" + command + ":calls=");
  return at == std::string::npos ? 0 : std::stoll(info.substr(at + 8 + command.size() + 7));
}

RedisCounters Counters(const RedisServer& redis) {
  RedisCounters c;
  std::string cpu = redis.Command({"INFO", "cpu"}).str;
  c.cpu_s = warden::bench::RedisInfoNumber(cpu, "used_cpu_user") +
            warden::bench::RedisInfoNumber(cpu, "used_cpu_sys");
  c.commands = static_cast<long long>(warden::bench::RedisInfoNumber(
      redis.Command({"INFO", "stats"}).str, "total_commands_processed"));
  std::string stats = redis.Command({"INFO", "commandstats"}).str;
  c.script_calls = CommandCalls(stats, "evalsha") + CommandCalls(stats, "eval");
  return c;
}

NginxServer::Options CostNode(const RedisServer& redis, const std::string& zone_key,
                              const std::string& sync, bool top) {
  NginxServer::Options o;
  o.workers = 1;
  o.main = "worker_cpu_affinity 01;\n";
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) +
           " timeout=" + std::to_string(kTimeoutMs) + "ms;\n" +
           (top ? "" : "warden_top_zone off;\n") + "warden_limit_zone " + zone_key +
           " zone=cost:10m rate=1000000r/s sync=" + sync +
           ";\n"
           "access_log off;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n"
           "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
           "  warden on;\n"
           "  location / { warden_limit zone=cost burst=1000 nodelay; }\n}\n";
  return o;
}

struct CostFigure {
  double seconds = 0;
  long long requests = 0;
  RedisCounters delta;
};

CostFigure Measure(const RedisServer& redis, const std::function<long long()>& work) {
  RedisCounters before = Counters(redis);
  auto start = Clock::now();
  long long requests = work();
  CostFigure f;
  f.seconds = MsSince(start) / 1000;
  RedisCounters after = Counters(redis);
  f.requests = requests;
  f.delta.cpu_s = after.cpu_s - before.cpu_s;
  // The counters' own INFO commands (3 before, 3 after) are not the node's.
  f.delta.commands = after.commands - before.commands - 3;
  f.delta.script_calls = after.script_calls - before.script_calls;
  return f;
}

void PrintCost(const char* name, const CostFigure& f, double idle_cpu_per_s) {
  double cpu_us = f.delta.cpu_s * 1e6;
  double node_us = cpu_us - idle_cpu_per_s * f.seconds * 1e6;  // less Redis's own idle cost
  std::printf("%-34s %6.1f s %8lld req %9.0f req/s | redis CPU %6.3f s (%4.1f%% of a core)", name,
              f.seconds, f.requests, f.requests / f.seconds, f.delta.cpu_s,
              100 * f.delta.cpu_s / f.seconds);
  if (f.requests > 0) {
    std::printf(
        " %6.2f us/req, %lld commands incl. scripts' (%.2f/req), %lld script calls (%.1f "
        "req/script)\n",
        node_us / f.requests, f.delta.commands, static_cast<double>(f.delta.commands) / f.requests,
        f.delta.script_calls,
        f.delta.script_calls ? static_cast<double>(f.requests) / f.delta.script_calls : 0.0);
  } else {
    std::printf(" %6.1f us/s over idle Redis, %.1f cmds/s\n", node_us / f.seconds,
                f.delta.commands / f.seconds);
  }
}

void CostPart(int seconds) {
  RedisServer redis;
  std::printf(
      "\n== what one Redis spends per node (scaling model, docs/topology.md): Redis's INFO cpu "
      "(user+sys), one nginx worker on CPU 0, wrk -t1 -c32 on CPU 1, %d s each; load average "
      "%.2f ==\n",
      seconds, LoadAverage());
  auto idle = [&] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    return 0LL;
  };
  CostFigure alone = Measure(redis, idle);
  const double idle_cpu_per_s = alone.delta.cpu_s / alone.seconds;
  std::printf("%-34s %6.1f s | redis CPU %6.3f s: %.1f us/s (Redis's own cron; subtracted below)\n",
              "redis alone, no node", alone.seconds, alone.delta.cpu_s, idle_cpu_per_s * 1e6);
  {
    NginxServer node(CostNode(redis, "$binary_remote_addr", "100ms", true));
    std::this_thread::sleep_for(1s);  // connected, the first load done
    PrintCost("one idle node (follow, heartbeat)", Measure(redis, idle), idle_cpu_per_s);
  }
  // One request at a time, each from a new address: one key per request (one key per script
  // call in exact mode, one new key per request in a push), the dearest case for Redis.
  auto one_at_a_time = [&](const NginxServer& node) {
    return [&] {
      long long n = 0;
      auto start = Clock::now();
      while (MsSince(start) < seconds * 1000.0) {
        std::string address = "10." + std::to_string(n / 65536 % 256) + "." +
                              std::to_string(n / 256 % 256) + "." + std::to_string(n % 256);
        HttpGet("127.0.0.1", node.port(), "/", {{"X-Forwarded-For", address}}, 5s);
        ++n;
      }
      return n;
    };
  };
  // wrk's 32 connections are 32 keys ($connection), as many clients sending at once.
  auto wrk = [&](const NginxServer& node) {
    return [&] { return warden::bench::RunWrk(node.port(), "/", 32, seconds).requests; };
  };
  struct Case {
    const char* name;
    const char* key;
    const char* sync;
    bool top;
    bool sequential;
  };
  const Case cases[] = {
      {"sync=exact, a new address each", "$binary_remote_addr", "exact", false, true},
      {"sync=exact, 32 connections=keys", "$connection", "exact", false, false},
      {"sync=100ms, a new address each", "$binary_remote_addr", "100ms", false, true},
      {"  the same, warden_top_zone on", "$binary_remote_addr", "100ms", true, true},
      {"sync=100ms, 32 connections=keys", "$connection", "100ms", false, false},
  };
  for (const Case& c : cases) {
    NginxServer node(CostNode(redis, c.key, c.sync, c.top));
    std::this_thread::sleep_for(1s);  // connected, the first load done
    std::function<long long()> work = one_at_a_time(node);
    if (!c.sequential) work = wrk(node);
    PrintCost(c.name, Measure(redis, work), idle_cpu_per_s);
  }
  std::printf("load average after: %.2f\n", LoadAverage());
}

}  // namespace

// The same runs on a Redis Cluster: the time from kill -9 of the primary that holds the
// blacklist to a new ban enforced on both nodes, next to cluster-node-timeout (after which
// the cluster's own failover starts, as Sentinel's after down-after-milliseconds).
void ClusterPart(int runs) {
  std::printf(
      "\n== Redis Cluster failover: kill -9 of the primary of the blacklist's slot -> a new ban "
      "enforced on both nginx nodes (3 primaries with a replica each, 2 nodes x 2 workers; "
      "fresh cluster per run); %d runs; load average %.2f ==\n",
      runs, LoadAverage());
  FailoverRuns all;
  std::vector<double> after;
  int node_timeout_ms = 0;
  for (int r = 1; r <= runs; ++r) {
    FailoverRun f;
    try {
      f = OneClusterFailover(r, &node_timeout_ms);
    } catch (const std::exception& e) {
      f.why = e.what();
    }
    if (all.Add(r, f)) after.push_back(f.enforced_ms - f.ban_ms);
    std::fflush(stdout);
  }
  if (all.enforced.empty()) return;
  // The ban is accepted once the cluster has promoted the replica: node-timeout, then the
  // replica's election delay (Redis: 500 ms + up to 500 ms at random + 1 s per rank), which
  // no client shortens. What the nodes add is the time from there to the ban enforced.
  std::printf(
      "cluster-node-timeout: %d ms\n"
      "kill -> ban accepted (the cluster's own failover): median %.0f ms, p99 %.0f ms\n"
      "ban accepted -> enforced on both nodes (the nodes' part): median %.0f ms, p99 %.0f ms\n"
      "kill -> enforced on both nodes: median %.0f ms, p99 %.0f ms over %zu runs\n",
      node_timeout_ms, Median(all.bans), Percentile(all.bans, 0.99), Median(after),
      Percentile(after, 0.99), Median(all.enforced), Percentile(all.enforced, 0.99),
      all.enforced.size());
  all.PrintSlowest();
  std::printf("load average after: %.2f\n", LoadAverage());
}

int main(int argc, char** argv) {
  int runs = 8, seconds = 3;
  bool failover = true, cost = true;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--runs" && i + 1 < argc)
      runs = std::stoi(argv[++i]);
    else if (k == "--seconds" && i + 1 < argc)
      seconds = std::stoi(argv[++i]);
    else if (k == "--failover-only")
      cost = false;
    else if (k == "--cost-only")
      failover = false;
    else {
      std::fprintf(
          stderr, "usage: failover_bench [--runs N] [--seconds S] [--failover-only|--cost-only]\n");
      return 2;
    }
  }

  if (failover) {
    std::printf(
        "== Sentinel failover: kill -9 of the primary -> a new ban enforced on both nginx nodes "
        "(a primary, a replica, 3 Sentinels, 2 nodes x 2 workers; fresh topology per run); "
        "%d runs; load average %.2f ==\n",
        runs, LoadAverage());
    FailoverRuns all;
    std::vector<std::vector<double>> timeline(kTimeline.size());
    int down_after_ms = 0;
    for (int r = 1; r <= runs; ++r) {
      FailoverRun f;
      try {
        f = OneFailover(r, &down_after_ms);
      } catch (const std::exception& e) {
        f.why = e.what();
      }
      if (!all.Add(r, f)) continue;
      std::printf("       logs, ms after the kill:");
      for (size_t e = 0; e < kTimeline.size(); ++e) {
        std::printf(" %s %lld", kTimeline[e].text, f.timeline[e]);
        if (f.timeline[e] >= 0) timeline[e].push_back(static_cast<double>(f.timeline[e]));
      }
      std::printf("\n");
      std::fflush(stdout);
    }
    if (!all.enforced.empty()) {
      const double target = down_after_ms + 1000.0;
      const double p99 = Percentile(all.enforced, 0.99);
      std::printf("Sentinel down-after-milliseconds: %d\n", down_after_ms);
      std::printf(
          "the logs' timeline after the kill (median / slowest of the runs that saw it):\n");
      for (size_t e = 0; e < kTimeline.size(); ++e) {
        if (timeline[e].empty()) {
          std::printf("  %-32s not seen\n", kTimeline[e].text);
        } else {
          std::printf("  %-32s %5.0f / %5.0f ms (%zu runs)\n", kTimeline[e].text,
                      Median(timeline[e]), Percentile(timeline[e], 1.0), timeline[e].size());
        }
      }
      std::printf("ban accepted after the kill: median %.0f ms, p99 %.0f ms\n", Median(all.bans),
                  Percentile(all.bans, 0.99));
      std::printf(
          "kill -> enforced on both nodes: median %.0f ms, p99 %.0f ms over %zu runs "
          "(p99 of so few runs is about their maximum)\n",
          Median(all.enforced), p99, all.enforced.size());
      std::printf("target <= down-after + 1 s = %.0f ms: median %s, p99 %s\n", target,
                  Median(all.enforced) <= target ? "PASS" : "MISS",
                  p99 <= target ? "PASS" : "MISS");
      all.PrintSlowest();
    }
    if (all.failed) std::printf("%d run(s) gave no figure\n", all.failed);
    std::printf("load average after the failovers: %.2f\n", LoadAverage());
    ClusterPart(runs);
  }
  if (cost) CostPart(seconds);
  return 0;
}
