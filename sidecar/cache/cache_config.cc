#include "cache/cache_config.h"

#include <set>

#include "base/errors.h"
#include "scheduler/schedule.h"
#include "scheduler/time_zone.h"
#include "config/toml_reader.h"

namespace warden {

namespace {

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool ValidKey(const std::string& key) {
  if (key.empty() || key.size() > 512) return false;
  for (unsigned char c : key) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

const CacheSpec* CacheConfig::Find(std::string_view name) const {
  for (const CacheSpec& spec : entries) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

CacheConfig CacheConfig::Load(const std::string& path) {
  if (path.empty()) return CacheConfig();
  return FromToml(TomlReader::ParseFile(path), path);
}

CacheConfig CacheConfig::FromToml(const toml::table& root, const std::string& path) {
  CacheConfig config;
  const toml::node* node = root.get("cache");
  if (node == nullptr) return config;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    throw UsageError(path + ": cache: expected [[cache]] tables, got " +
                     TomlReader::Describe(*node));
  }
  std::set<std::string> names;
  size_t index = 0;
  for (const toml::node& item : *array) {
    const toml::table& table = *item.as_table();
    CacheSpec spec;
    {
      TomlReader probe(path, table, "cache[" + std::to_string(index++) + "]");
      spec.name = *probe.String("name", true);
      if (!ValidName(spec.name)) {
        probe.Fail(table.get("name"), "name",
                   "\"" + spec.name + "\" is not a cache name (1-64 letters, digits, - _ .)");
      }
      if (!names.insert(spec.name).second) {
        probe.Fail(table.get("name"), "name", "\"" + spec.name + "\" is defined twice");
      }
    }
    TomlReader r(path, table, "cache \"" + spec.name + "\"");
    r.Get("name");
    spec.sql = *r.String("sql", true);
    if (spec.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
      r.Fail(table.get("sql"), "sql", "is empty");
    }
    spec.key = *r.String("key", true);
    if (!ValidKey(spec.key)) {
      r.Fail(table.get("key"), "key", "must be 1-512 characters without spaces or controls");
    }
    if (auto v = r.Duration("ttl", 1000, int64_t{365} * 86400 * 1000)) spec.ttl_ms = *v;
    if (auto v = r.Duration("lock_ttl", 100, 3600 * 1000)) spec.lock_ttl_ms = *v;
    if (auto v = r.Number("beta", 0.0, 100.0)) spec.beta = *v;
    if (auto v = r.Integer("max_rows", 1, 10000000)) spec.max_rows = *v;
    if (auto v = r.String("refresh")) {
      std::string error;
      if (!Schedule::Parse(*v, nullptr, &error)) r.Fail(table.get("refresh"), "refresh", error);
      spec.refresh = *v;
    }
    if (const toml::node* params = r.Get("params")) {
      const toml::array* list = params->as_array();
      if (list == nullptr) {
        r.Fail(params, "params", "expected an array, got " + TomlReader::Describe(*params));
      }
      for (const toml::node& p : *list) {
        if (const auto* s = p.as_string()) {
          spec.params.emplace_back(s->get());
        } else if (const auto* i = p.as_integer()) {
          spec.params.emplace_back(i->get());
        } else if (const auto* f = p.as_floating_point()) {
          spec.params.emplace_back(f->get());
        } else if (const auto* b = p.as_boolean()) {
          spec.params.emplace_back(b->get() ? 1 : 0);
        } else {
          r.Fail(&p, "params",
                 "expected strings, numbers or booleans, got " + TomlReader::Describe(p));
        }
      }
    }
    size_t placeholders = 0;
    for (char c : spec.sql) placeholders += c == '?';
    if (placeholders < spec.params.size()) {
      r.Fail(table.get("params"), "params",
             std::to_string(spec.params.size()) + " values for " + std::to_string(placeholders) +
                 " placeholders in sql");
    }
    r.RejectUnknown("name, sql, params, key, ttl, refresh, beta, lock_ttl, max_rows");
    config.entries.push_back(std::move(spec));
  }
  return config;
}

}  // namespace warden
