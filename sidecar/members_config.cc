#include "members_config.h"

#include <charconv>

#include "duration.h"
#include "errors.h"
#include "toml_reader.h"

namespace warden {

std::optional<ThrottleSettings> ThrottleSettings::Parse(const std::string& spec,
                                                        std::string* error) {
  ThrottleSettings t;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (end == spec.size()) break;
      continue;
    }
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (eq == std::string::npos || value.empty()) {
      *error = "bad throttle \"" + item + "\": expected NAME=VALUE";
      return std::nullopt;
    }
    if (key == "threads_running") {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || n < 0 || n > 100000) {
        *error = "bad throttle threads_running=\"" + value + "\": expected 0 to 100000";
        return std::nullopt;
      }
      t.threads_running = n;
      continue;
    }
    int64_t* target = key == "replica_lag" ? &t.replica_lag_ms
                      : key == "sleep"     ? &t.sleep_ms
                      : key == "check"     ? &t.check_ms
                                           : nullptr;
    if (target == nullptr) {
      *error =
          "unknown throttle \"" + key + "\" (known: threads_running, replica_lag, sleep, check)";
      return std::nullopt;
    }
    std::string why;
    auto ms = ParseDurationMs(value, &why);
    if (!ms || *ms > int64_t{3600} * 1000) {
      *error = "bad throttle " + key + ": " + (ms ? "at most 1h" : why);
      return std::nullopt;
    }
    *target = *ms;
  }
  if (t.check_ms < 10) t.check_ms = 10;
  return t;
}

std::string ThrottleSettings::ToString() const {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ",") + part; };
  if (threads_running > 0) add("threads_running=" + std::to_string(threads_running));
  if (replica_lag_ms > 0) add("replica_lag=" + FormatDuration(replica_lag_ms));
  if (sleep_ms > 0) add("sleep=" + FormatDuration(sleep_ms));
  return out.empty() ? "none" : out;
}

MembersSettings MembersSettings::Load(const std::string& path) {
  MembersSettings s;
  if (path.empty()) return s;
  const toml::table root = TomlReader::ParseFile(path);
  const toml::node* node = root.get("members");
  if (node == nullptr) return s;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    throw UsageError(path + ": members: expected a table, got " + TomlReader::Describe(*node));
  }
  TomlReader r(path, *table, "members");
  if (auto v = r.Identifier("table")) s.table = *v;
  if (auto v = r.Identifier("archive_table")) s.archive_table = *v;
  if (auto v = r.Identifier("id_column")) s.id_column = *v;
  if (auto v = r.Identifier("last_login_column")) s.last_login_column = *v;
  if (auto v = r.Identifier("email_column")) s.email_column = *v;
  if (auto v = r.Identifier("moved_at_column")) s.moved_at_column = *v;
  if (auto v = r.Identifier("state_table")) s.state_table = *v;
  if (auto v = r.Duration("inactive_for", 1000, int64_t{100} * 365 * 86400 * 1000)) {
    s.inactive_for_ms = *v;
  }
  if (auto v = r.Integer("chunk", 1, 1000000)) s.chunk = *v;
  if (auto v = r.Duration("chunk_time", 0, 60000)) s.chunk_time_ms = *v;
  if (auto v = r.Integer("max_chunk", 1, 1000000)) s.max_chunk = *v;
  if (auto v = r.Integer("parallel", 1, 16)) s.parallel = *v;
  if (auto v = r.String("throttle")) {
    std::string error;
    auto t = ThrottleSettings::Parse(*v, &error);
    if (!t) r.Fail(table->get("throttle"), "throttle", error);
    s.throttle = *t;
  }
  if (auto v = r.StringList("replicas")) {
    for (const std::string& text : *v) {
      std::string error;
      auto url = MysqlUrl::Parse(text, &error);
      if (!url) r.Fail(table->get("replicas"), "replicas", error);
      s.replicas.push_back(*url);
    }
  }
  r.RejectUnknown(
      "table, archive_table, id_column, last_login_column, email_column, moved_at_column, "
      "state_table, inactive_for, chunk, chunk_time, max_chunk, parallel, throttle, replicas");
  if (s.table == s.archive_table) {
    r.Fail(table->get("archive_table"), "archive_table", "must differ from table");
  }
  if (s.chunk > s.max_chunk) r.Fail(table->get("chunk"), "chunk", "is larger than max_chunk");
  return s;
}

}  // namespace warden
