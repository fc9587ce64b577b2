#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace warden {

// Reads one table of warden.toml for the part of Warden that owns it ([members], [[cache]],
// [[job]] and each job type's keys),
// remembering which keys were read so that unknown ones (typos) are reported instead of
// silently ignored. Every error is a UsageError naming the file, the line, the table and the key:
//   warden.toml:14: cache "top": ttl: "0s" is out of range 1s to 365d
class TomlReader {
 public:
  TomlReader(std::string path, const toml::table& table, std::string context)
      : path_(std::move(path)), table_(table), context_(std::move(context)) {}

  [[noreturn]] void Fail(const toml::node* at, const std::string& key,
                         const std::string& why) const;

  const toml::node* Get(const std::string& key);
  const toml::node& Require(const std::string& key);
  std::optional<std::string> String(const std::string& key, bool required = false);
  std::optional<int64_t> Integer(const std::string& key, int64_t min, int64_t max);
  std::optional<double> Number(const std::string& key, double min, double max);
  std::optional<bool> Bool(const std::string& key);
  // "500ms", "1m30s", "365d", or an integer number of seconds.
  std::optional<int64_t> Duration(const std::string& key, int64_t min_ms, int64_t max_ms);
  std::optional<std::vector<std::string>> StringList(const std::string& key);
  std::optional<std::map<std::string, std::string>> StringMap(const std::string& key);
  // A sub-table; nullptr when absent.
  const toml::table* Table(const std::string& key);
  // A table or SQL identifier (sql_identifier.h).
  std::optional<std::string> Identifier(const std::string& key);
  // Any key not read so far is a mistake.
  void RejectUnknown(const std::string& known) const;

  const std::string& path() const { return path_; }
  const std::string& context() const { return context_; }

  // "a string", "an integer", ... for messages.
  static std::string Describe(const toml::node& node);
  // Parses the whole file; UsageError "PATH: cannot read: ..." or "PATH:L:C: syntax error: ...".
  static toml::table ParseFile(const std::string& path);

 private:
  std::string path_;
  const toml::table& table_;
  std::string context_;
  std::set<std::string> seen_;
};

}  // namespace warden
