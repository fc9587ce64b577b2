#include "support/warden_cli.h"

#include <sstream>
#include <string_view>

#include "support/temp_dir.h"

#ifndef WARDEN_BIN
#error "WARDEN_BIN must name the warden binary under test"
#endif

extern char** environ;

namespace warden::test {

const std::string& WardenBinary() {
  static const std::string binary = WARDEN_BIN;
  return binary;
}

const std::string& DefaultWardenConfig() {
  static const TempDir dir("warden-config");
  static const std::string path = dir.Write("warden.toml", "[daemon]\nlisten = \"off\"\n");
  return path;
}

ProcessOptions WardenProcessOptions(const WardenCommand& command) {
  ProcessOptions options;
  options.argv = {WardenBinary()};
  if (!command.mysql.empty()) options.argv.insert(options.argv.end(), {"--mysql", command.mysql});
  if (!command.redis.empty()) options.argv.insert(options.argv.end(), {"--redis", command.redis});
  options.argv.insert(options.argv.end(), command.args.begin(), command.args.end());
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("WARDEN_", 0) == 0) {
      options.unset_env.emplace_back(entry.substr(0, entry.find('=')));
    }
  }
  options.env["WARDEN_CONFIG"] = command.config.empty() ? DefaultWardenConfig() : command.config;
  for (const auto& [name, value] : command.env) options.env[name] = value;
  return options;
}

RunResult RunWarden(const WardenCommand& command, std::optional<std::string> stdin_text,
                    std::chrono::milliseconds timeout) {
  return Run(WardenProcessOptions(command), std::move(stdin_text), timeout);
}

std::string Show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_object()) out.push_back(std::move(value));
  }
  return out;
}

}  // namespace warden::test
