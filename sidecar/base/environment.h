#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// The process environment as the sidecar sees it: variables, the user and the host name.
// Tests build one from a map instead of touching the real environment.
class Environment {
 public:
  // Reads the real environment on each call.
  static Environment System();
  // Only these variables; user "test", host "testhost" unless USER / HOSTNAME are in the map.
  static Environment FromMap(std::map<std::string, std::string> vars);

  // An unset or empty variable is nullopt.
  std::optional<std::string> Get(std::string_view name) const;

  // "cli:<user>@<hostname>": who made a change, stored with every entry.
  std::string Actor() const;

 private:
  bool system_ = true;
  std::map<std::string, std::string, std::less<>> vars_;
};

}  // namespace warden
