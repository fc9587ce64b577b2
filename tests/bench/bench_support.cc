#include "bench/bench_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>

#include "support/process.h"

namespace warden::bench {

namespace {

double ToMs(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  return v;
}

}  // namespace

WrkRun RunWrk(int port, const std::string& path, int connections, int seconds) {
  auto r = test::Run({"taskset", "-c", "1", "wrk", "-t1", "-c" + std::to_string(connections),
                      "-d" + std::to_string(seconds) + "s", "--latency",
                      "http://127.0.0.1:" + std::to_string(port) + path},
                     {}, std::nullopt, std::chrono::seconds(seconds + 30));
  WrkRun w;
  w.output = r.out + r.err;
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    w.rps = std::stod(m[1]);
  }
  if (std::regex_search(r.out, m, std::regex(R"(50%\s+([0-9.]+)(us|ms|s))"))) {
    w.p50_ms = ToMs(m[1], m[2]);
  }
  if (std::regex_search(r.out, m, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))"))) {
    w.p99_ms = ToMs(m[1], m[2]);
  }
  if (std::regex_search(r.out, m, std::regex(R"((\d+) requests in)"))) {
    w.requests = std::stoll(m[1]);
  }
  if (std::regex_search(r.out, m, std::regex(R"(Non-2xx or 3xx responses:\s+(\d+))"))) {
    w.non_2xx = std::stoll(m[1]);
  }
  return w;
}

bool PerfCyclesUsable(std::string* why) {
  auto r = test::Run({"perf", "stat", "-x,", "-e", "cycles", "true"}, {}, std::nullopt,
                     std::chrono::seconds(30));
  if (r.exit_code != 0 || r.err.find("<not") != std::string::npos) {
    *why = r.exit_code == 127 ? "perf is not installed"
           : r.err.find("<not supported>") != std::string::npos
               ? "this machine has no hardware cycle counter (perf: <not supported>)"
               : "perf stat cannot count cycles here: " + r.err.substr(0, r.err.find('\n'));
    return false;
  }
  return true;
}

std::optional<double> PerfCycles(int pid, const std::function<void()>& work) {
  test::ProcessOptions po;
  po.argv = {"perf", "stat", "-x,", "-e", "cycles", "-p", std::to_string(pid)};
  test::Process perf = test::Process::Start(po);
  work();
  perf.Signal(SIGINT);  // perf prints its counts (to stderr) when interrupted
  perf.Wait(std::chrono::seconds(10));
  std::istringstream err(perf.Stderr());
  for (std::string line; std::getline(err, line);) {
    // "<count>,,cycles,..." in CSV; "<not counted>" or "<not supported>" instead of a count
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
        line.find(",cycles") != std::string::npos) {
      return std::stod(line.substr(0, line.find(',')));
    }
  }
  return std::nullopt;
}

double CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t comm_end = stat.rfind(')');
  if (comm_end == std::string::npos) return 0;
  std::istringstream fields(stat.substr(comm_end + 2));  // after "pid (comm) "
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

namespace {

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

CpuBudget::CpuBudget(int pid, int quota_us, int period_us) : pid_(pid) {
  if (pid <= 0) {  // "0" in cgroup.procs would move the writer, this bench, instead
    why_ = "no process id to hold";
    return;
  }
  const std::string name = "warden-bench-" + std::to_string(getpid()) + "-" + std::to_string(pid);
  std::string controllers;
  std::getline(std::ifstream("/sys/fs/cgroup/cgroup.controllers"), controllers);
  if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", W_OK) == 0) {
    parent_ = "/sys/fs/cgroup/cpu";
  } else if (std::regex_search(controllers, std::regex(R"(\bcpu\b)"))) {
    parent_ = "/sys/fs/cgroup";
    v2_ = true;
    WriteFile(parent_ + "/cgroup.subtree_control", "+cpu");
  } else {
    why_ = "no writable cgroup cpu controller (v1 /sys/fs/cgroup/cpu or v2 cpu.max)";
    return;
  }
  dir_ = parent_ + "/" + name;
  if (mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    why_ = "cannot make " + dir_ + ": " + std::strerror(errno);
    dir_.clear();
    return;
  }
  const bool set =
      v2_ ? WriteFile(dir_ + "/cpu.max", std::to_string(quota_us) + " " + std::to_string(period_us))
          : WriteFile(dir_ + "/cpu.cfs_period_us", std::to_string(period_us)) &&
                WriteFile(dir_ + "/cpu.cfs_quota_us", std::to_string(quota_us));
  if (!set || !WriteFile(dir_ + "/cgroup.procs", std::to_string(pid))) {
    why_ = "cannot set the quota of " + dir_;
    return;
  }
  moved_ = true;
}

CpuBudget::~CpuBudget() {
  if (dir_.empty()) return;
  // Back where it was (fails harmlessly if it exited), so that the group can go.
  if (moved_) WriteFile(parent_ + "/cgroup.procs", std::to_string(pid_));
  rmdir(dir_.c_str());
}

long long CpuBudget::throttled() const {
  std::ifstream stat(dir_ + "/cpu.stat");
  std::string key;
  long long value;
  while (stat >> key >> value) {
    if (key == "nr_throttled") return value;
  }
  return 0;
}

double LoadAverage() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double RedisInfoNumber(const std::string& info, const std::string& name) {
  size_t at = info.find(name + ":");
  return at == std::string::npos ? 0 : std::stod(info.substr(at + name.size() + 1));
}

}  // namespace warden::bench
