#include "scheduler/job_config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "jobs/batch_jobs.h"
#include "common/clock.h"
#include "base/duration.h"
#include "base/errors.h"
#include "config/toml_reader.h"

namespace warden {

const char* OverrunPolicyName(OverrunPolicy policy) {
  switch (policy) {
    case OverrunPolicy::kSkip:
      return "skip";
    case OverrunPolicy::kQueue:
      return "queue";
    case OverrunPolicy::kReplace:
      return "replace";
    case OverrunPolicy::kAllow:
      break;
  }
  return "allow";
}

const char* JobTypeName(JobType type) {
  switch (type) {
    case JobType::kHttpSync:
      return "http_sync";
    case JobType::kSql:
      return "sql";
    case JobType::kMembersMigrate:
      return "members_migrate";
    case JobType::kCacheWarm:
      return "cache_warm";
    case JobType::kDedupe:
      return "dedupe";
    case JobType::kCommand:
      break;
  }
  return "command";
}

namespace {

// Reads one TOML table, remembering which keys were read so that unknown ones (typos) are
// reported instead of silently ignored. Every error names the file, the line, the key.
class TableReader {
 public:
  TableReader(const std::string& path, const toml::table& table, std::string context)
      : path_(path), table_(table), context_(std::move(context)) {}

  [[noreturn]] void Fail(const toml::node* at, const std::string& key,
                         const std::string& why) const {
    const toml::source_region& where = at != nullptr ? at->source() : table_.source();
    std::string message = path_;
    if (where.begin.line > 0) message += ":" + std::to_string(where.begin.line);
    if (!context_.empty()) message += ": " + context_;
    if (!key.empty()) message += ": " + key;
    throw UsageError(message + ": " + why);
  }

  const toml::node* Get(const std::string& key) {
    seen_.insert(key);
    return table_.get(key);
  }

  const toml::node& Require(const std::string& key) {
    const toml::node* node = Get(key);
    if (node == nullptr) Fail(nullptr, key, "missing (required)");
    return *node;
  }

  std::optional<std::string> String(const std::string& key, bool required = false) {
    const toml::node* node = required ? &Require(key) : Get(key);
    if (node == nullptr) return std::nullopt;
    const auto* value = node->as_string();
    if (value == nullptr) Fail(node, key, "expected a string, got " + TomlReader::Describe(*node));
    return value->get();
  }

  std::optional<int64_t> Integer(const std::string& key, int64_t min, int64_t max) {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    const auto* value = node->as_integer();
    if (value == nullptr)
      Fail(node, key, "expected an integer, got " + TomlReader::Describe(*node));
    if (value->get() < min || value->get() > max) {
      Fail(node, key,
           std::to_string(value->get()) + " is out of range " + std::to_string(min) + "-" +
               std::to_string(max));
    }
    return value->get();
  }

  std::optional<double> Number(const std::string& key, double min, double max) {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    double v = 0;
    if (const auto* i = node->as_integer()) {
      v = static_cast<double>(i->get());
    } else if (const auto* f = node->as_floating_point()) {
      v = f->get();
    } else {
      Fail(node, key, "expected a number, got " + TomlReader::Describe(*node));
    }
    if (!(v >= min && v <= max)) {
      Fail(node, key, "out of range " + std::to_string(min) + "-" + std::to_string(max));
    }
    return v;
  }

  std::optional<bool> Bool(const std::string& key) {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    const auto* value = node->as_boolean();
    if (value == nullptr)
      Fail(node, key, "expected true or false, got " + TomlReader::Describe(*node));
    return value->get();
  }

  // A duration: "500ms", "1m30s", or an integer number of seconds.
  std::optional<int64_t> Duration(const std::string& key, int64_t min_ms, int64_t max_ms) {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    std::string text;
    if (const auto* i = node->as_integer()) {
      text = std::to_string(i->get());
    } else if (const auto* s = node->as_string()) {
      text = s->get();
    } else {
      Fail(node, key, "expected a duration such as \"30s\", got " + TomlReader::Describe(*node));
    }
    std::string error;
    auto ms = ParseDurationMs(text, &error);
    if (!ms) Fail(node, key, error);
    if (*ms < min_ms || *ms > max_ms) {
      Fail(node, key,
           "\"" + text + "\" is out of range " + FormatDuration(min_ms) + " to " +
               FormatDuration(max_ms));
    }
    return ms;
  }

  std::optional<std::map<std::string, std::string>> StringMap(const std::string& key) {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    const auto* table = node->as_table();
    if (table == nullptr)
      Fail(node, key, "expected a table of strings, got " + TomlReader::Describe(*node));
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : *table) {
      const auto* s = v.as_string();
      if (s == nullptr) Fail(&v, key + "." + std::string(k.str()), "expected a string");
      out[std::string(k.str())] = s->get();
    }
    return out;
  }

  std::optional<std::vector<std::string>> StringList(const std::string& key) {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    const auto* array = node->as_array();
    if (array == nullptr)
      Fail(node, key, "expected an array of strings, got " + TomlReader::Describe(*node));
    std::vector<std::string> out;
    for (const auto& v : *array) {
      const auto* s = v.as_string();
      if (s == nullptr) Fail(&v, key, "expected an array of strings");
      out.push_back(s->get());
    }
    return out;
  }

  const toml::table* Table(const std::string& key) {
    const toml::node* node = Get(key);
    if (node == nullptr) return nullptr;
    const auto* table = node->as_table();
    if (table == nullptr) Fail(node, key, "expected a table, got " + TomlReader::Describe(*node));
    return table;
  }

  // Any key not read so far is a mistake.
  void RejectUnknown(const std::string& known) const {
    for (const auto& [key, value] : table_) {
      const std::string name(key.str());
      if (!seen_.contains(name)) Fail(&value, name, "unknown key (known: " + known + ")");
    }
  }

  const std::string& path() const { return path_; }

 private:
  const std::string& path_;
  const toml::table& table_;
  std::string context_;
  std::set<std::string> seen_;
};

bool ValidJobName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool ValidIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return !std::isdigit(static_cast<unsigned char>(name.front()));
}

bool ValidHttpUrl(const std::string& url) {
  return (url.starts_with("http://") || url.starts_with("https://")) &&
         url.find_first_of(" \t\r\n") == std::string::npos && url.size() > 8;
}

constexpr int64_t kDay = 86400 * 1000LL;

void ParseRetry(TableReader& r, RetrySettings* retry, int default_attempts) {
  if (auto v = r.Integer("retries", 0, 100)) {
    retry->attempts = static_cast<int>(*v) + 1;
  } else {
    retry->attempts = default_attempts;
  }
  if (auto v = r.Duration("retry_backoff", 1, 600000)) retry->base_ms = *v;
  if (auto v = r.Duration("retry_backoff_max", 1, 3600000)) retry->max_ms = *v;
  if (retry->max_ms < retry->base_ms) {
    r.Fail(r.Get("retry_backoff_max"), "retry_backoff_max", "is shorter than retry_backoff");
  }
  if (auto v = r.Integer("retry_budget", 0, 1000000)) retry->budget = static_cast<int>(*v);
}

void ParseHttpSync(TableReader& job, JobSpec* spec) {
  HttpSyncSettings& s = spec->http_sync;
  const std::string& path = job.path();
  const std::string context = "job \"" + spec->name + "\"";

  const toml::table* source = job.Table("source");
  if (source == nullptr) job.Fail(nullptr, "source", "missing (required for type http_sync)");
  TableReader src(path, *source, context + ": source");
  s.source_url = *src.String("url", true);
  if (!ValidHttpUrl(s.source_url)) {
    src.Fail(src.Get("url"), "url", "expected an http:// or https:// URL");
  }
  if (auto v = src.String("pagination")) {
    if (*v == "cursor") {
      s.pagination = HttpSyncSettings::Pagination::kCursor;
    } else if (*v == "offset") {
      s.pagination = HttpSyncSettings::Pagination::kOffset;
    } else {
      src.Fail(src.Get("pagination"), "pagination", "expected \"cursor\" or \"offset\"");
    }
  }
  if (auto v = src.Integer("page_size", 1, 10000)) s.page_size = static_cast<int>(*v);
  if (auto v = src.String("records")) s.records_field = *v;
  if (auto v = src.String("next_cursor")) s.next_cursor_field = *v;
  if (auto v = src.String("cursor_param")) s.cursor_param = *v;
  if (auto v = src.String("limit_param")) s.limit_param = *v;
  if (auto v = src.String("offset_param")) s.offset_param = *v;
  if (auto v = src.StringMap("headers")) s.source_headers = *v;
  src.RejectUnknown(
      "url, pagination, page_size, records, next_cursor, cursor_param, limit_param, "
      "offset_param, headers");

  const toml::table* sink = job.Table("sink");
  if (sink == nullptr) job.Fail(nullptr, "sink", "missing (required for type http_sync)");
  TableReader dst(path, *sink, context + ": sink");
  if (auto v = dst.String("url")) s.sink_url = *v;
  if (auto v = dst.String("table")) s.sink_table = *v;
  if (s.sink_url.empty() == s.sink_table.empty()) {
    dst.Fail(nullptr, "", "set exactly one of url (an HTTP API) and table (a MariaDB table)");
  }
  if (!s.sink_url.empty() && !ValidHttpUrl(s.sink_url)) {
    dst.Fail(dst.Get("url"), "url", "expected an http:// or https:// URL");
  }
  if (!s.sink_table.empty() && !ValidIdentifier(s.sink_table)) {
    dst.Fail(dst.Get("table"), "table", "expected a table name of letters, digits and _");
  }
  if (auto v = dst.StringMap("headers")) s.sink_headers = *v;
  if (auto v = dst.StringList("columns")) {
    s.sink_columns = *v;
    for (const std::string& column : s.sink_columns) {
      if (!ValidIdentifier(column)) {
        dst.Fail(dst.Get("columns"), "columns", "\"" + column + "\" is not a column name");
      }
    }
  }
  if (auto v = dst.String("key")) s.sink_key = *v;
  dst.RejectUnknown("url, headers, table, columns, key");

  if (auto v = job.String("id_field")) s.id_field = *v;
  if (s.id_field.empty()) job.Fail(job.Get("id_field"), "id_field", "must not be empty");
  if (!s.sink_table.empty()) {
    if (s.sink_columns.empty()) {
      dst.Fail(nullptr, "columns", "missing (required with table: the record fields to store)");
    }
    if (s.sink_key.empty()) s.sink_key = s.id_field;
    if (!ValidIdentifier(s.sink_key)) dst.Fail(dst.Get("key"), "key", "not a column name");
  }
  if (auto v = job.Integer("chunk_size", 1, 10000)) s.chunk_size = static_cast<int>(*v);
  if (auto v = job.Number("rate_limit", 0, 100000)) s.rate_limit = *v;
  if (auto v = job.Duration("connect_timeout", 1, 600000)) s.connect_timeout_ms = *v;
  if (auto v = job.Duration("transfer_timeout", 1, 3600000)) s.transfer_timeout_ms = *v;
  if (auto v = job.Integer("max_record_attempts", 1, 100)) {
    s.max_record_attempts = static_cast<int>(*v);
  }
  ParseRetry(job, &s.retry, 5);
  if (auto v = job.Integer("breaker_failures", 1, 1000)) s.breaker.failures = static_cast<int>(*v);
  if (auto v = job.Duration("breaker_open", 1, 3600000)) s.breaker.open_ms = *v;
}

void ParseAlert(TableReader& r, AlertSettings* alert) {
  if (auto v = r.String("alert_webhook")) {
    if (!v->empty() && !ValidHttpUrl(*v)) {
      r.Fail(r.Get("alert_webhook"), "alert_webhook", "expected an http:// or https:// URL");
    }
    alert->webhook = *v;
  }
  if (auto v = r.Integer("alert_after", 1, 1000)) alert->after_failures = static_cast<int>(*v);
  if (auto v = r.String("alert_format")) {
    if (*v == "json") {
      alert->slack = false;
    } else if (*v == "slack") {
      alert->slack = true;
    } else {
      r.Fail(r.Get("alert_format"), "alert_format", "expected \"json\" or \"slack\"");
    }
  }
}

JobSpec ParseJob(const std::string& path, const toml::table& table, size_t index,
                 const DaemonSettings& daemon, const AlertSettings& alerts) {
  JobSpec spec;
  spec.alert = alerts;
  {
    // The name first, so every later message can say which job it is about.
    TableReader probe(path, table, "job[" + std::to_string(index) + "]");
    spec.name = *probe.String("name", true);
    if (!ValidJobName(spec.name)) {
      probe.Fail(probe.Get("name"), "name",
                 "\"" + spec.name + "\" is not a job name (1-64 letters, digits, - _ .)");
    }
  }
  TableReader r(path, table, "job \"" + spec.name + "\"");
  r.Get("name");

  const std::string type = *r.String("type", true);
  if (type == "http_sync") {
    spec.type = JobType::kHttpSync;
  } else if (type == "sql") {
    spec.type = JobType::kSql;
  } else if (type == "command") {
    spec.type = JobType::kCommand;
  } else if (type == "members_migrate") {
    spec.type = JobType::kMembersMigrate;
  } else if (type == "cache_warm") {
    spec.type = JobType::kCacheWarm;
  } else if (type == "dedupe") {
    spec.type = JobType::kDedupe;
  } else {
    r.Fail(r.Get("type"), "type",
           "unknown job type \"" + type +
               "\" (known: http_sync, sql, command, members_migrate, cache_warm, dedupe)");
  }

  spec.schedule_text = *r.String("schedule", true);
  if (auto tz = r.String("timezone")) spec.time_zone = *tz;
  std::string error;
  auto zone = TimeZone::Load(spec.time_zone, &error);
  if (!zone) r.Fail(r.Get("timezone"), "timezone", error);
  spec.schedule = Schedule::Parse(spec.schedule_text, zone, &error);
  if (!spec.schedule) r.Fail(r.Get("schedule"), "schedule", error);

  if (auto v = r.String("overrun")) {
    if (*v == "skip") {
      spec.overrun = OverrunPolicy::kSkip;
    } else if (*v == "queue") {
      spec.overrun = OverrunPolicy::kQueue;
    } else if (*v == "replace") {
      spec.overrun = OverrunPolicy::kReplace;
    } else if (*v == "allow") {
      spec.overrun = OverrunPolicy::kAllow;
    } else {
      r.Fail(r.Get("overrun"), "overrun",
             "unknown policy \"" + *v + "\" (known: skip, queue, replace, allow)");
    }
  }
  if (auto v = r.Integer("max_concurrent", 1, 1000)) {
    spec.max_concurrent = static_cast<int>(*v);
    if (spec.overrun != OverrunPolicy::kAllow && spec.max_concurrent > 1) {
      r.Fail(r.Get("max_concurrent"), "max_concurrent", "only applies with overrun = \"allow\"");
    }
  } else if (spec.overrun == OverrunPolicy::kAllow) {
    spec.max_concurrent = 2;
  }
  if (auto v = r.Duration("misfire_grace", 0, 365 * kDay)) spec.misfire_grace_ms = *v;
  if (auto v = r.Duration("jitter", 0, kDay)) spec.jitter_ms = *v;
  if (auto v = r.Duration("timeout", 1, 7 * kDay)) spec.timeout_ms = *v;
  if (auto v = r.Duration("deadline", 1, 7 * kDay)) spec.deadline_ms = *v;
  if (auto v = r.Duration("lease", 1000, kDay)) spec.lease_ms = *v;
  if (auto v = r.Bool("enabled")) spec.enabled = *v;
  ParseAlert(r, &spec.alert);

  std::string known =
      "name, type, schedule, timezone, overrun, max_concurrent, misfire_grace, jitter, "
      "timeout, deadline, lease, enabled, alert_webhook, alert_after, alert_format";
  switch (spec.type) {
    case JobType::kHttpSync:
      ParseHttpSync(r, &spec);
      known +=
          ", source, sink, id_field, chunk_size, rate_limit, connect_timeout, "
          "transfer_timeout, max_record_attempts, retries, retry_backoff, retry_backoff_max, "
          "retry_budget, breaker_failures, breaker_open";
      break;
    case JobType::kSql: {
      spec.sql.statement = *r.String("statement", true);
      if (spec.sql.statement.find_first_not_of(" \t\r\n;") == std::string::npos) {
        r.Fail(r.Get("statement"), "statement", "is empty");
      }
      if (auto v = r.Integer("retries", 0, 100)) spec.retries = static_cast<int>(*v);
      known += ", statement, retries";
      break;
    }
    case JobType::kCommand: {
      const toml::node& command = r.Require("command");
      if (const auto* s = command.as_string()) {
        if (s->get().empty()) r.Fail(&command, "command", "is empty");
        spec.command.argv = {"/bin/sh", "-c", s->get()};
      } else {
        auto argv = r.StringList("command");
        if (argv->empty() || argv->front().empty()) {
          r.Fail(&command, "command", "needs at least the program");
        }
        spec.command.argv = *argv;
      }
      if (auto v = r.StringMap("env")) spec.command.env = *v;
      if (auto v = r.String("cwd")) spec.command.cwd = *v;
      if (auto v = r.Integer("output_limit", 0, 16 << 20)) spec.command.output_limit = *v;
      if (auto v = r.Integer("retries", 0, 100)) spec.retries = static_cast<int>(*v);
      known += ", command, env, cwd, output_limit, retries";
      break;
    }
    case JobType::kMembersMigrate:
    case JobType::kCacheWarm:
    case JobType::kDedupe: {
      known += ", " + ParseBatchJob(path, table, "job \"" + spec.name + "\"", &spec);
      for (const std::string& key : BatchJobKeys(spec.type)) r.Get(key);
      if (auto v = r.Integer("retries", 0, 100)) spec.retries = static_cast<int>(*v);
      known += ", retries";
      break;
    }
  }
  r.RejectUnknown(known);
  if (spec.lease_ms == 0) spec.lease_ms = daemon.lease_ms;
  if (!spec.schedule->Next(SystemNowMs())) {
    r.Fail(r.Get("schedule"), "schedule",
           "\"" + spec.schedule_text + "\" never fires (no matching date in five years)");
  }
  return spec;
}

}  // namespace

const JobSpec* SchedulerConfig::Find(std::string_view name) const {
  for (const JobSpec& job : jobs) {
    if (job.name == name) return &job;
  }
  return nullptr;
}

bool SchedulerConfig::ParseListen(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  for (char c : text.substr(colon + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    p = p * 10 + (c - '0');
    if (p > 65535) return false;
  }
  if (p == 0) return false;
  *host = h;
  *port = p;
  return true;
}

SchedulerConfig SchedulerConfig::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  return Parse(buffer.str(), path);
}

SchedulerConfig SchedulerConfig::Parse(const std::string& text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw UsageError(path + ":" + std::to_string(e.source().begin.line) + ":" +
                     std::to_string(e.source().begin.column) +
                     ": syntax error: " + std::string(e.description()));
  }
  SchedulerConfig config;
  config.path = path;
  TableReader top(path, root, "");

  if (const toml::table* daemon = top.Table("daemon")) {
    TableReader r(path, *daemon, "daemon");
    if (auto v = r.String("listen")) {
      std::string host;
      int port = 0;
      if (!v->empty() && *v != "off" && !ParseListen(*v, &host, &port)) {
        r.Fail(r.Get("listen"), "listen", "expected HOST:PORT such as 127.0.0.1:9477, or \"off\"");
      }
      config.daemon.listen = *v == "off" ? "" : *v;
    }
    if (auto v = r.Duration("shutdown_grace", 0, 3600000)) config.daemon.shutdown_grace_ms = *v;
    if (auto v = r.Duration("lease", 1000, kDay)) config.daemon.lease_ms = *v;
    if (auto v = r.Duration("purge_interval", 10, 3600000)) config.daemon.purge_interval_ms = *v;
    if (auto v = r.String("node")) config.daemon.node = *v;
    r.RejectUnknown("listen, shutdown_grace, lease, purge_interval, node");
  }
  if (config.daemon.node.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    gethostname(host, sizeof host - 1);
    config.daemon.node = host[0] != '\0' ? host : "warden";
  }

  AlertSettings alerts;
  if (const toml::table* table = top.Table("alerts")) {
    TableReader r(path, *table, "alerts");
    if (auto v = r.String("webhook")) {
      if (!v->empty() && !ValidHttpUrl(*v)) {
        r.Fail(r.Get("webhook"), "webhook", "expected an http:// or https:// URL");
      }
      alerts.webhook = *v;
    }
    if (auto v = r.Integer("after", 1, 1000)) alerts.after_failures = static_cast<int>(*v);
    if (auto v = r.String("format")) {
      if (*v != "json" && *v != "slack") {
        r.Fail(r.Get("format"), "format", "expected \"json\" or \"slack\"");
      }
      alerts.slack = *v == "slack";
    }
    r.RejectUnknown("webhook, after, format");
  }

  if (const toml::node* jobs = top.Get("job")) {
    const toml::array* array = jobs->as_array();
    if (array == nullptr) {
      top.Fail(jobs, "job", "expected [[job]] tables, got " + TomlReader::Describe(*jobs));
    }
    std::set<std::string> names;
    size_t index = 0;
    for (const toml::node& node : *array) {
      const toml::table* table = node.as_table();
      if (table == nullptr) top.Fail(&node, "job", "expected [[job]] tables");
      JobSpec spec = ParseJob(path, *table, index++, config.daemon, alerts);
      if (!names.insert(spec.name).second) {
        TableReader r(path, *table, "job \"" + spec.name + "\"");
        r.Fail(table->get("name"), "name", "another job has the same name");
      }
      config.jobs.push_back(std::move(spec));
    }
  }
  // [[cache]] entries with a refresh schedule are cache_warm jobs named "cache:NAME".
  for (JobSpec& spec : CacheRefreshJobs(root, path, config.daemon, alerts)) {
    if (config.Find(spec.name) != nullptr) {
      throw UsageError(path + ": job \"" + spec.name + "\": name: taken by a [[cache]] refresh");
    }
    config.jobs.push_back(std::move(spec));
  }
  return config;
}

}  // namespace warden
