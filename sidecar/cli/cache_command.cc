#include "cli/cache_command.h"

#include <optional>

#include "base/duration.h"
#include "base/errors.h"
#include "base/time_format.h"
#include "cache/cache_config.h"
#include "cache/cache_warmer.h"

namespace warden {

namespace {

const CacheSpec& FindOrThrow(const CacheConfig& config, const std::string& name,
                             const std::string& path) {
  const CacheSpec* spec = config.Find(name);
  if (spec != nullptr) return *spec;
  std::string known;
  for (const CacheSpec& s : config.entries) known += (known.empty() ? "" : ", ") + s.name;
  throw UsageError("no cache named \"" + name + "\" in " + (path.empty() ? "the config" : path) +
                   (known.empty() ? " (it has no [[cache]] entries)" : " (known: " + known + ")"));
}

std::string Size(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f kB", bytes / 1024.0);
  return text;
}

}  // namespace

CacheCommand::CacheCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("cache", "Keep query results warm in Redis ([[cache]] entries)");
  app_->require_subcommand(1);
  warm_ = app_->add_subcommand("warm", "Recompute entries that are missing or due (XFetch)");
  warm_->add_option("name", name_, "The entry (default: every [[cache]] entry)")->type_name("NAME");
  warm_->add_flag("--force", force_, "Recompute even a fresh value");
  warm_->add_flag("--json", json_, "One JSON object per entry");
  show_ = app_->add_subcommand("show", "Show the value stored for an entry");
  show_->add_option("name", name_, "The entry")->type_name("NAME")->required();
  show_->add_flag("--json", json_, "Print a JSON object, the body parsed");
}

int CacheCommand::Run() { return warm_->parsed() ? Warm() : Show(); }

int CacheCommand::Warm() {
  const std::string path = ctx_.settings().config_path();
  CacheConfig config = CacheConfig::Load(path);
  std::vector<const CacheSpec*> specs;
  if (!name_.empty()) {
    specs.push_back(&FindOrThrow(config, name_, path));
  } else {
    if (config.entries.empty()) {
      throw UsageError("no [[cache]] entries in " +
                       (path.empty() ? std::string("the config") : path));
    }
    for (const CacheSpec& spec : config.entries) specs.push_back(&spec);
  }
  RedisConnection redis = ctx_.Connect();
  std::optional<MysqlConnection> mysql;
  CacheWarmer warmer(redis, [&]() -> MysqlConnection& {
    if (!mysql) mysql = ctx_.ConnectMysql();
    return *mysql;
  });
  for (const CacheSpec* spec : specs) {
    CacheWarmer::Result r = warmer.Warm(*spec, force_);
    if (json_) {
      ctx_.out() << r.ToJson().dump() << '\n';
      continue;
    }
    std::ostream& out = ctx_.out();
    out << r.name << ": ";
    if (r.outcome == "computed") {
      out << "computed in " << r.delta_ms << "ms, " << r.rows << " rows, " << Size(r.bytes)
          << ", etag " << r.etag << ", ttl " << FormatDuration(r.ttl_ms);
    } else if (r.outcome == "fresh") {
      out << "fresh, expires in " << (r.ttl_ms < 0 ? "never" : FormatDuration(r.ttl_ms));
    } else if (r.outcome == "locked") {
      out << "another sidecar is recomputing it; the current value stays";
    } else {
      out << "computed by another sidecar meanwhile";
    }
    out << '\n';
  }
  return kExitOk;
}

int CacheCommand::Show() {
  const std::string path = ctx_.settings().config_path();
  CacheConfig config = CacheConfig::Load(path);
  const CacheSpec& spec = FindOrThrow(config, name_, path);
  RedisConnection redis = ctx_.Connect();
  std::optional<nlohmann::json> value = CacheWarmer::Read(redis, spec);
  if (!value) {
    throw Error("cache " + spec.name + " is not warm (no " + spec.key +
                    " in Redis): run warden cache warm " + spec.name,
                kExitFailure);
  }
  nlohmann::json& v = *value;
  const std::string body = v.value("body", "");
  if (json_) {
    nlohmann::json out = {{"name", spec.name}, {"key", spec.key}};
    for (const auto& [field, item] : v.items()) {
      if (field != "body") out[field] = item;
    }
    out["bytes"] = body.size();
    out["body"] = nlohmann::json::parse(body, nullptr, false);
    if (out["body"].is_discarded()) out["body"] = body;
    ctx_.out() << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return kExitOk;
  }
  std::ostream& out = ctx_.out();
  const int64_t computed_at = v.value("computed_at", int64_t{0});
  const int64_t ttl = v.value("ttl_ms", int64_t{-1});
  out << "name:         " << spec.name << '\n';
  out << "key:          " << spec.key << '\n';
  out << "etag:         " << v.value("etag", "") << '\n';
  out << "computed at:  " << FormatIsoUtcMs(computed_at) << " (took " << v.value("delta", 0)
      << "ms)\n";
  out << "expires in:   " << (ttl < 0 ? std::string("never") : FormatDuration(ttl)) << '\n';
  out << "rows:         " << v.value("rows", 0) << " (" << Size(static_cast<int64_t>(body.size()))
      << ")\n";
  out << "content type: " << v.value("content_type", "") << '\n';
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  out << (parsed.is_discarded()
              ? body
              : parsed.dump(2, ' ', false, nlohmann::json::error_handler_t::replace))
      << '\n';
  return kExitOk;
}

}  // namespace warden
