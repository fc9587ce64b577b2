#include "scheduler/job_config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "base/duration.h"
#include "base/errors.h"
#include "common/clock.h"
#include "config/toml_reader.h"
#include "scheduler/job_type.h"

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

namespace {

// The control token: the file's content without surrounding white space, 16 bytes or more.
// The message never shows the token.
bool ReadToken(const std::string& path, std::string* token, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  const char* space = " \t\r\n";
  size_t first = text.find_first_not_of(space);
  size_t last = text.find_last_not_of(space);
  text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  if (text.size() < 16 || text.find_first_of(space) != std::string::npos) {
    *error = path +
             " must hold one token of 16 or more characters without spaces "
             "(e.g. openssl rand -hex 32)";
    return false;
  }
  *token = std::move(text);
  return true;
}

bool ValidJobName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

constexpr int64_t kDay = 86400 * 1000LL;

void ParseAlert(TomlReader& r, AlertSettings* alert) {
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
                 const DaemonSettings& daemon, const AlertSettings& alerts,
                 const JobTypeRegistry& types) {
  JobSpec spec;
  spec.alert = alerts;
  {
    // The name first, so every later message can say which job it is about.
    TomlReader probe(path, table, "job[" + std::to_string(index) + "]");
    spec.name = *probe.String("name", true);
    if (!ValidJobName(spec.name)) {
      probe.Fail(probe.Get("name"), "name",
                 "\"" + spec.name + "\" is not a job name (1-64 letters, digits, - _ .)");
    }
  }
  TomlReader r(path, table, "job \"" + spec.name + "\"");
  r.Get("name");

  spec.type = *r.String("type", true);
  const JobType* type = types.Find(spec.type);
  if (type == nullptr) {
    r.Fail(r.Get("type"), "type",
           "unknown job type \"" + spec.type + "\" (known: " + types.Names() + ")");
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
  const std::string own = type->parse(r, &spec);
  if (!own.empty()) known += ", " + own;
  r.RejectUnknown(known);
  if (spec.lease_ms == 0) spec.lease_ms = daemon.lease_ms;
  if (!spec.schedule->Next(SystemNowMs())) {
    r.Fail(r.Get("schedule"), "schedule",
           "\"" + spec.schedule_text + "\" never fires (no matching date in five years)");
  }
  return spec;
}

}  // namespace

bool ValidHttpUrl(const std::string& url) {
  return (url.starts_with("http://") || url.starts_with("https://")) &&
         url.find_first_of(" \t\r\n") == std::string::npos && url.size() > 8;
}

const JobSpec* SchedulerConfig::Find(std::string_view name) const {
  for (const JobSpec& job : jobs) {
    if (job.name == name) return &job;
  }
  return nullptr;
}

bool SchedulerConfig::IsLoopback(const std::string& host) {
  // Addresses only (and the name localhost): "127.example.org" is a name, resolved at bind.
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
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

SchedulerConfig SchedulerConfig::Load(const std::string& path, const JobTypeRegistry& types) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  return Parse(buffer.str(), path, types);
}

SchedulerConfig SchedulerConfig::Empty() { return Parse("", "", JobTypeRegistry()); }

SchedulerConfig SchedulerConfig::Parse(const std::string& text, const std::string& path,
                                       const JobTypeRegistry& types) {
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
  TomlReader top(path, root, "");

  if (const toml::table* daemon = top.Table("daemon")) {
    TomlReader r(path, *daemon, "daemon");
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
    if (auto v = r.String("token_file")) {
      config.daemon.token_file = *v;
      std::string error;
      if (!ReadToken(*v, &config.daemon.token, &error))
        r.Fail(r.Get("token_file"), "token_file", error);
    }
    if (auto v = r.Bool("metrics_token")) config.daemon.metrics_token = *v;
    if (auto v = r.Bool("console")) config.daemon.console = *v;
    if (auto v = r.StringList("console_hosts")) config.daemon.console_hosts = *v;
    std::string host;
    int port = 0;
    if (!config.daemon.listen.empty() && config.daemon.token.empty() &&
        ParseListen(config.daemon.listen, &host, &port) && !IsLoopback(host)) {
      r.Fail(r.Get("listen"), "listen",
             "\"" + config.daemon.listen +
                 "\" is reachable from other hosts: set token_file, or listen on 127.0.0.1");
    }
    if (config.daemon.metrics_token && config.daemon.token.empty()) {
      r.Fail(r.Get("metrics_token"), "metrics_token", "needs token_file");
    }
    r.RejectUnknown(
        "listen, shutdown_grace, lease, purge_interval, node, token_file, metrics_token, "
        "console, console_hosts");
  }
  if (config.daemon.node.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    gethostname(host, sizeof host - 1);
    config.daemon.node = host[0] != '\0' ? host : "warden";
  }

  AlertSettings alerts;
  if (const toml::table* table = top.Table("alerts")) {
    TomlReader r(path, *table, "alerts");
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
      JobSpec spec = ParseJob(path, *table, index++, config.daemon, alerts, types);
      if (!names.insert(spec.name).second) {
        TomlReader r(path, *table, "job \"" + spec.name + "\"");
        r.Fail(table->get("name"), "name", "another job has the same name");
      }
      config.jobs.push_back(std::move(spec));
    }
  }
  // [[cache]] entries with a refresh schedule are cache_warm jobs named "cache:NAME".
  for (const JobSource& source : types.sources()) {
    for (JobSpec& spec : source(root, path, config.daemon, alerts)) {
      if (config.Find(spec.name) != nullptr) {
        throw UsageError(path + ": job \"" + spec.name + "\": name: taken by a [[cache]] refresh");
      }
      config.jobs.push_back(std::move(spec));
    }
  }
  return config;
}

}  // namespace warden
