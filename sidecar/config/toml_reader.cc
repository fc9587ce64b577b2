#include "config/toml_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/duration.h"
#include "base/errors.h"
#include "storage/mysql/sql_identifier.h"

namespace warden {

std::string TomlReader::Describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date/time";
  }
}

toml::table TomlReader::ParseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return toml::parse(buffer.str(), path);
  } catch (const toml::parse_error& e) {
    throw UsageError(path + ":" + std::to_string(e.source().begin.line) + ":" +
                     std::to_string(e.source().begin.column) +
                     ": syntax error: " + std::string(e.description()));
  }
}

void TomlReader::Fail(const toml::node* at, const std::string& key, const std::string& why) const {
  const toml::source_region& where = at != nullptr ? at->source() : table_.source();
  std::string message = path_;
  if (where.begin.line > 0) message += ":" + std::to_string(where.begin.line);
  if (!context_.empty()) message += ": " + context_;
  if (!key.empty()) message += ": " + key;
  throw UsageError(message + ": " + why);
}

const toml::node* TomlReader::Get(const std::string& key) {
  seen_.insert(key);
  return table_.get(key);
}

const toml::node& TomlReader::Require(const std::string& key) {
  const toml::node* node = Get(key);
  if (node == nullptr) Fail(nullptr, key, "missing (required)");
  return *node;
}

std::optional<std::string> TomlReader::String(const std::string& key, bool required) {
  const toml::node* node = Get(key);
  if (node == nullptr) {
    if (required) Fail(nullptr, key, "missing (required)");
    return std::nullopt;
  }
  const auto* value = node->as_string();
  if (value == nullptr) Fail(node, key, "expected a string, got " + Describe(*node));
  return value->get();
}

std::optional<int64_t> TomlReader::Integer(const std::string& key, int64_t min, int64_t max) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_integer();
  if (value == nullptr) Fail(node, key, "expected an integer, got " + Describe(*node));
  if (value->get() < min || value->get() > max) {
    Fail(node, key,
         std::to_string(value->get()) + " is out of range " + std::to_string(min) + "-" +
             std::to_string(max));
  }
  return value->get();
}

std::optional<double> TomlReader::Number(const std::string& key, double min, double max) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::nullopt;
  double v = 0;
  if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else {
    Fail(node, key, "expected a number, got " + Describe(*node));
  }
  if (!(v >= min && v <= max)) {
    Fail(node, key, "out of range " + std::to_string(min) + "-" + std::to_string(max));
  }
  return v;
}

std::optional<bool> TomlReader::Bool(const std::string& key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_boolean();
  if (value == nullptr) Fail(node, key, "expected true or false, got " + Describe(*node));
  return value->get();
}

std::optional<int64_t> TomlReader::Duration(const std::string& key, int64_t min_ms,
                                            int64_t max_ms) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::nullopt;
  std::string text;
  if (const auto* i = node->as_integer()) {
    text = std::to_string(i->get());
  } else if (const auto* s = node->as_string()) {
    text = s->get();
  } else {
    Fail(node, key, "expected a duration such as \"30s\", got " + Describe(*node));
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

std::optional<std::vector<std::string>> TomlReader::StringList(const std::string& key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) Fail(node, key, "expected an array of strings, got " + Describe(*node));
  std::vector<std::string> out;
  for (const auto& v : *array) {
    const auto* s = v.as_string();
    if (s == nullptr) Fail(&v, key, "expected an array of strings");
    out.push_back(s->get());
  }
  return out;
}

std::optional<std::map<std::string, std::string>> TomlReader::StringMap(const std::string& key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return std::nullopt;
  const auto* table = node->as_table();
  if (table == nullptr) Fail(node, key, "expected a table of strings, got " + Describe(*node));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : *table) {
    const auto* s = v.as_string();
    if (s == nullptr) Fail(&v, key + "." + std::string(k.str()), "expected a string");
    out[std::string(k.str())] = s->get();
  }
  return out;
}

const toml::table* TomlReader::Table(const std::string& key) {
  const toml::node* node = Get(key);
  if (node == nullptr) return nullptr;
  const auto* table = node->as_table();
  if (table == nullptr) Fail(node, key, "expected a table, got " + Describe(*node));
  return table;
}

std::optional<std::string> TomlReader::Identifier(const std::string& key) {
  auto name = String(key);
  if (!name) return std::nullopt;
  std::string error;
  if (!ValidSqlIdentifier(*name, &error)) Fail(table_.get(key), key, error);
  return name;
}

void TomlReader::RejectUnknown(const std::string& known) const {
  for (const auto& [key, value] : table_) {
    const std::string name(key.str());
    if (!seen_.contains(name)) Fail(&value, name, "unknown key (known: " + known + ")");
  }
}

}  // namespace warden
