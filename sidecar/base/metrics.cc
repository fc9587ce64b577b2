#include "base/metrics.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace warden {

namespace {

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Metrics::Histogram::Observe(double v) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (v <= bounds[i]) {
      ++buckets[i];
      break;
    }
  }
  sum += v;
  ++count;
}

Metrics::Histogram Metrics::MakeDuration() {
  Histogram h;
  h.bounds = {0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
  h.buckets.assign(h.bounds.size(), 0);
  return h;
}

Metrics::Histogram Metrics::MakeLateness() {
  Histogram h;
  h.bounds = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30};
  h.buckets.assign(h.bounds.size(), 0);
  return h;
}

void Metrics::RunStarted(const std::string& job, double lateness_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_[job] += 1;
  auto it = lateness_.try_emplace(job, MakeLateness()).first;
  it->second.Observe(lateness_s < 0 ? 0 : lateness_s);
}

void Metrics::RunFinished(const std::string& job, const std::string& result, double duration_s,
                          double now_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_[job] -= 1;
  runs_[{job, result}] += 1;
  if (result != "ok") {
    failures_[job] += 1;
  } else {
    last_success_[job] = now_s;
  }
  failures_.try_emplace(job, 0);
  auto it = duration_.try_emplace(job, MakeDuration()).first;
  it->second.Observe(duration_s);
}

void Metrics::Skipped(const std::string& job, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  skipped_[{job, reason}] += 1;
}

void Metrics::AddCounter(const std::string& name, const std::string& job, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  counters_[{name, job}] += value;
}

void Metrics::SetGauge(const std::string& name, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  gauges_[name] = value;
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  auto header = [&out](const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto job_label = [](const std::string& job) { return "job=\"" + Escape(job) + "\""; };

  for (const auto& [name, value] : gauges_) {
    header(name, "gauge", "Daemon state.");
    out += name + " " + Num(value) + "\n";
  }
  header("warden_job_runs_total", "counter", "Job runs that ended, by result.");
  for (const auto& [key, value] : runs_) {
    out += "warden_job_runs_total{" + job_label(key.first) + ",result=\"" + key.second + "\"} " +
           Num(value) + "\n";
  }
  header("warden_job_failures_total", "counter", "Job runs that did not end ok.");
  for (const auto& [job, value] : failures_) {
    out += "warden_job_failures_total{" + job_label(job) + "} " + Num(value) + "\n";
  }
  header("warden_job_skipped_total", "counter", "Fire times not run by this sidecar, by reason.");
  for (const auto& [key, value] : skipped_) {
    out += "warden_job_skipped_total{" + job_label(key.first) + ",reason=\"" + key.second + "\"} " +
           Num(value) + "\n";
  }
  header("warden_job_running", "gauge", "Job runs going on in this sidecar.");
  for (const auto& [job, value] : running_) {
    out += "warden_job_running{" + job_label(job) + "} " + Num(value) + "\n";
  }
  header("warden_job_last_success_timestamp_seconds", "gauge",
         "When a run of the job last ended ok (Unix time).");
  for (const auto& [job, value] : last_success_) {
    out += "warden_job_last_success_timestamp_seconds{" + job_label(job) + "} " + Num(value) + "\n";
  }
  auto histogram = [&](const std::string& name, const char* help,
                       const std::map<std::string, Histogram>& all) {
    header(name, "histogram", help);
    for (const auto& [job, h] : all) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < h.bounds.size(); ++i) {
        cumulative += h.buckets[i];
        out += name + "_bucket{" + job_label(job) + ",le=\"" + Num(h.bounds[i]) + "\"} " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket{" + job_label(job) + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
      out += name + "_sum{" + job_label(job) + "} " + Num(h.sum) + "\n";
      out += name + "_count{" + job_label(job) + "} " + std::to_string(h.count) + "\n";
    }
  };
  histogram("warden_job_duration_seconds", "Job run durations.", duration_);
  histogram("warden_job_lateness_seconds", "How late runs started after their planned time.",
            lateness_);
  std::set<std::string> names;
  for (const auto& [key, value] : counters_) names.insert(key.first);
  for (const std::string& name : names) {
    header(name, "counter", "http_sync counter.");
    for (const auto& [key, value] : counters_) {
      if (key.first == name) out += name + "{" + job_label(key.second) + "} " + Num(value) + "\n";
    }
  }
  return out;
}

}  // namespace warden
