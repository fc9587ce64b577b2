#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace warden {

// The daemon's Prometheus metrics, rendered in the text exposition format (version 0.0.4) for
// GET /metrics. Thread-safe. Per job:
//   warden_job_runs_total{job,result}          counter   runs that ended, by result
//   warden_job_failures_total{job}             counter   runs that did not end ok
//   warden_job_skipped_total{job,reason}       counter   fire times not run here (overrun, misfire)
//   warden_job_running{job}                    gauge     runs going on in this sidecar
//   warden_job_duration_seconds{job}           histogram run durations
//   warden_job_lateness_seconds{job}           histogram start minus planned start
//   warden_job_last_success_timestamp_seconds{job}  gauge
//   warden_sync_records_total{job}             counter   records delivered by http_sync
//   warden_sync_retries_total{job}             counter   retried calls by http_sync
//   warden_sync_dead_letters_total{job}        counter   records moved to the dead-letter table
class Metrics {
 public:
  void RunStarted(const std::string& job, double lateness_s);
  void RunFinished(const std::string& job, const std::string& result, double duration_s,
                   double now_s);
  void Skipped(const std::string& job, const std::string& reason);
  void AddCounter(const std::string& name, const std::string& job, double value);
  void SetGauge(const std::string& name, double value);  // unlabelled gauges (warden_up, ...)

  std::string Render() const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<uint64_t> buckets;  // cumulative counts rendered; stored per bucket
    double sum = 0;
    uint64_t count = 0;
    void Observe(double v);
  };
  static Histogram MakeDuration();
  static Histogram MakeLateness();

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, double> runs_;  // (job, result)
  std::map<std::string, double> failures_;
  std::map<std::pair<std::string, std::string>, double> skipped_;  // (job, reason)
  std::map<std::string, double> running_;
  std::map<std::string, double> last_success_;
  std::map<std::string, Histogram> duration_;
  std::map<std::string, Histogram> lateness_;
  std::map<std::pair<std::string, std::string>, double> counters_;  // (name, job)
  std::map<std::string, double> gauges_;
};

}  // namespace warden
