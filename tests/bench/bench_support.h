#pragma once

// What the benchmarks share: wrk runs and the statistics of their rounds.

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace warden::bench {

// One wrk run: `wrk -t1 -c<connections> -d<seconds>s --latency`, pinned to CPU 1 (the
// benchmarks pin nginx's single worker to CPU 0, so the two do not fight over a core).
struct WrkRun {
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long long requests = 0;
  long long non_2xx = 0;  // "Non-2xx or 3xx responses"
  std::string output;     // wrk's report, for warnings
};
WrkRun RunWrk(int port, const std::string& path, int connections, int seconds);

// The CPU time (user + system) process `pid` has used, in seconds, from /proc/<pid>/stat.
double CpuSeconds(int pid);

// Hardware cycle counts through `perf stat` (Debian's linux-perf). Virtual machines often
// have no counters ("<not supported>"): then PerfCyclesUsable() says why in `why`.
bool PerfCyclesUsable(std::string* why);
// The cycles process `pid` spent while `work` ran (perf attached to it meanwhile), or nullopt.
std::optional<double> PerfCycles(int pid, const std::function<void()>& work);

// The machine's one-minute load average (-1 when unknown): a figure measured at a load of 4
// is not one measured at 0.2, so every bench prints it.
double LoadAverage();

// A number of a Redis INFO section's text ("used_cpu_user:1.23"), 0 when absent.
double RedisInfoNumber(const std::string& info, const std::string& name);

// Holds process `pid` to a share of one core while it lives (a cgroup's CFS quota: `quota_us`
// of CPU every `period_us`), as if it ran on a host of that size: how a bench shows what
// several Redis servers carry when Redis, not nginx, is the bottleneck, on a machine whose
// two cores nginx alone can fill. cgroup v1 (cpu controller) or v2 (cpu.max); root only.
// ok() is false, and why() says why, where neither can be written.
class CpuBudget {
 public:
  CpuBudget(int pid, int quota_us, int period_us);
  ~CpuBudget();
  CpuBudget(const CpuBudget&) = delete;
  CpuBudget& operator=(const CpuBudget&) = delete;
  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  // How often the quota ran out (the process waited for the next period), so far.
  long long throttled() const;

 private:
  int pid_;
  std::string dir_;     // the cgroup made for it
  std::string parent_;  // where the process goes back to
  bool v2_ = false;
  bool moved_ = false;  // the process went into dir_
  std::string why_;
};

// The median (the mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> v);
// The value at fraction p (0..1) of the sorted values, nearest rank; 0 for none.
double Percentile(std::vector<double> v, double p);

}  // namespace warden::bench
