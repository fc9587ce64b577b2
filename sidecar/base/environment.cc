#include "base/environment.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace warden {

Environment Environment::System() { return Environment(); }

Environment Environment::FromMap(std::map<std::string, std::string> vars) {
  Environment env;
  env.system_ = false;
  for (auto& [name, value] : vars) env.vars_.emplace(name, value);
  return env;
}

std::optional<std::string> Environment::Get(std::string_view name) const {
  if (!system_) {
    auto it = vars_.find(name);
    if (it == vars_.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string Environment::Actor() const {
  std::string user;
  std::string host;
  if (system_) {
    if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) {
      user = pw->pw_name;
    }
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0) host = buf;
  }
  if (user.empty())
    user = Get("USER").value_or(system_ ? "uid" + std::to_string(geteuid()) : "test");
  if (host.empty()) host = Get("HOSTNAME").value_or(system_ ? "localhost" : "testhost");
  return "cli:" + user + "@" + host;
}

}  // namespace warden
