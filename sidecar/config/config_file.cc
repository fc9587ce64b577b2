#include "config/config_file.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/duration.h"
#include "base/errors.h"
#include "config/toml_reader.h"

namespace warden {

namespace {

constexpr int64_t kMaxTimeoutMs = 10 * 60 * 1000;

[[noreturn]] void Fail(const std::string& path, const std::string& key, const std::string& why) {
  throw UsageError(path + ": " + key + ": " + why);
}

const std::string& RequireString(const std::string& path, const std::string& key,
                                 const toml::node& node) {
  const auto* value = node.as_string();
  if (value == nullptr) Fail(path, key, "expected a string, got " + TomlReader::Describe(node));
  return value->get();
}

// The table called `name` at the top level, nullptr if absent; anything else is an error.
const toml::table* RequireTable(const std::string& path, const toml::table& root,
                                const char* name) {
  const toml::node* node = root.get(name);
  if (node == nullptr) return nullptr;
  const toml::table* table = node->as_table();
  if (table == nullptr) Fail(path, name, "expected a table, got " + TomlReader::Describe(*node));
  return table;
}

}  // namespace

bool ConfigFile::ValidPrefix(const std::string& prefix, std::string* error) {
  if (prefix.empty() || prefix.size() > 64) {
    *error = "the key prefix must be 1 to 64 characters";
    return false;
  }
  for (unsigned char c : prefix) {
    if (c <= ' ' || c == 0x7f) {
      *error = "the key prefix \"" + prefix + "\" contains whitespace or control characters";
      return false;
    }
  }
  return true;
}

std::optional<int64_t> ConfigFile::ParseTimeout(const std::string& text, std::string* error) {
  auto ms = ParseDurationMs(text, error);
  if (!ms) return std::nullopt;
  if (*ms <= 0 || *ms > kMaxTimeoutMs) {
    *error = "timeout \"" + text + "\" must be more than 0 and at most 10m";
    return std::nullopt;
  }
  return ms;
}

ConfigFile ConfigFile::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UsageError(path + ": cannot read: " + std::strerror(errno));

  toml::table root;
  try {
    root = toml::parse(buffer.str(), path);
  } catch (const toml::parse_error& e) {
    std::string description(e.description());
    throw UsageError(path + ":" + std::to_string(e.source().begin.line) + ":" +
                     std::to_string(e.source().begin.column) + ": syntax error: " + description);
  }

  ConfigFile config;
  config.path_ = path;
  if (const toml::table* mysql = RequireTable(path, root, "mysql")) {
    for (const auto& [key_node, value] : *mysql) {
      std::string key(key_node.str());
      std::string full = "mysql." + key;
      std::string error;
      if (key == "url") {
        config.mysql_url_ = MysqlUrl::Parse(RequireString(path, full, value), &error);
        if (!config.mysql_url_) Fail(path, full, error);
      } else {
        Fail(path, full, "unknown key (known: url)");
      }
    }
  }

  const toml::node* redis_node = root.get("redis");
  if (redis_node == nullptr) return config;
  const toml::table* redis = redis_node->as_table();
  if (redis == nullptr)
    Fail(path, "redis", "expected a table, got " + TomlReader::Describe(*redis_node));

  for (const auto& [key_node, value] : *redis) {
    std::string key(key_node.str());
    std::string full = "redis." + key;
    std::string error;
    if (key == "url") {
      const std::string& text = RequireString(path, full, value);
      config.redis_url_ = RedisDeployment::Parse(text, &error);
      if (!config.redis_url_) Fail(path, full, error);
    } else if (key == "prefix") {
      const std::string& text = RequireString(path, full, value);
      if (!ValidPrefix(text, &error)) Fail(path, full, error);
      config.prefix_ = text;
    } else if (key == "timeout") {
      if (const auto* seconds = value.as_integer()) {
        config.timeout_ms_ = ParseTimeout(std::to_string(seconds->get()), &error);
      } else {
        config.timeout_ms_ = ParseTimeout(RequireString(path, full, value), &error);
      }
      if (!config.timeout_ms_) Fail(path, full, error);
    } else {
      Fail(path, full, "unknown key (known: url, prefix, timeout)");
    }
  }
  return config;
}

}  // namespace warden
