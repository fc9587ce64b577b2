#include "members/impact_governor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace warden {

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

ImpactGovernor::ImpactGovernor(MysqlConnection& conn, const std::string& probe_sql,
                               int64_t probe_id)
    : conn_(conn), probe_(conn.Prepare(probe_sql)), probe_id_(probe_id) {}

double ImpactGovernor::Probe() {
  const auto start = std::chrono::steady_clock::now();
  probe_.Query({probe_id_});
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void ImpactGovernor::ReadCounters(int64_t* waits, int64_t* wait_ms) {
  MysqlRows rows = conn_.Query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', "
      "'Innodb_row_lock_time')");
  for (MysqlRow row : rows) {
    const std::string name = row.String(0);
    const int64_t value = row.OptionalInt64(1).value_or(0);
    if (name == "Innodb_row_lock_waits") *waits = value;
    if (name == "Innodb_row_lock_time") *wait_ms = value;
  }
}

void ImpactGovernor::Start() {
  std::vector<double> probes;
  for (int i = 0; i < 11; ++i) probes.push_back(Probe());
  baseline_ms_ = Median(probes);
  ReadCounters(&waits_, &wait_ms_);
}

ImpactGovernor::Advice ImpactGovernor::AfterChunk(int64_t chunk_ms) {
  int64_t waits = waits_;
  int64_t wait_ms = wait_ms_;
  ReadCounters(&waits, &wait_ms);
  const int64_t new_waits = waits - waits_;
  const int64_t new_wait_ms = wait_ms - wait_ms_;
  waits_ = waits;
  wait_ms_ = wait_ms;
  const double probe = Median({Probe(), Probe(), Probe()});

  Advice advice;
  char text[160];
  if (new_waits > 0) {
    std::snprintf(text, sizeof text, "%lld row lock wait(s), %lld ms in all",
                  static_cast<long long>(new_waits), static_cast<long long>(new_wait_ms));
    advice.reason = text;
  } else if (probe > 2 * baseline_ms_ && probe > baseline_ms_ + 0.5) {
    std::snprintf(text, sizeof text, "probe query %.2f ms (%.2f ms before the first chunk)", probe,
                  baseline_ms_);
    advice.reason = text;
  }
  if (!advice.reason.empty()) {
    advice.rest_ms = std::max<int64_t>(chunk_ms, 1);
    advice.shrink = true;
  } else {
    advice.rest_ms = chunk_ms / 4;
  }
  return advice;
}

}  // namespace warden
