#pragma once

#include <istream>
#include <ostream>
#include <string>

#include "base/environment.h"
#include "config/settings.h"

namespace warden {

// The `warden` command line: parses argv, runs the chosen command, and maps every failure to
// one "warden: ..." line on `err` and an exit code (0 ok, 1 failure, 2 bad input).
class Cli {
 public:
  static constexpr const char* kVersion = "warden 0.1.0";

  Cli(Environment env, std::istream& in, std::ostream& out, std::ostream& err,
      std::string default_config_path = Settings::kDefaultConfigPath)
      : env_(std::move(env)),
        in_(in),
        out_(out),
        err_(err),
        default_config_path_(std::move(default_config_path)) {}

  int Run(int argc, const char* const* argv);

 private:
  Environment env_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  std::string default_config_path_;
};

}  // namespace warden
