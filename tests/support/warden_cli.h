#pragma once

// The one way tests and benchmarks run the built `warden` binary, hermetically: the child gets
// none of the test process's WARDEN_* variables, only what the test asks for, and a config file
// of the test's (by default one that keeps a real /etc/warden/warden.toml out).
//
//   RunResult r = RunWarden({.args = {"list", "--json"}, .redis = redis.url()});
//   ASSERT_EQ(r.exit_code, 0) << Show(r);
//   Process daemon = Process::Start(WardenProcessOptions({.args = {"daemon"}, .config = path}));

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace warden::test {

// `warden [--mysql <mysql>] [--redis <redis>] <args...>` with WARDEN_CONFIG=<config> and `env`.
// (Every member has an initializer, so designated initializers may leave any out.)
struct WardenCommand {
  std::vector<std::string> args{};
  std::string mysql{};   // not empty: --mysql <mysql> before args
  std::string redis{};   // not empty: --redis <redis> before args
  std::string config{};  // WARDEN_CONFIG; empty: DefaultWardenConfig()
  // More variables for the child (e.g. WARDEN_FAILPOINT, WARDEN_REDIS); they win over the above.
  std::map<std::string, std::string> env{};
};

// The warden binary under test (the build's, named by CMake in one place).
const std::string& WardenBinary();

// A config file without connection settings and without the daemon's HTTP endpoint
// ([daemon] listen = "off"), so that daemons of tests running in parallel (or of `make run`)
// never compete for its port. Written once per test process, removed at its exit.
const std::string& DefaultWardenConfig();

// How to start `command`: argv as above; the environment is this process's minus every
// WARDEN_* variable, plus WARDEN_CONFIG and command.env. Callers may still adjust the result
// (stdout_path, more env) before Process::Start or Run.
ProcessOptions WardenProcessOptions(const WardenCommand& command);

// Runs `command` to completion (killed after `timeout`), with `stdin_text` as its input.
RunResult RunWarden(const WardenCommand& command,
                    std::optional<std::string> stdin_text = std::nullopt,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A run's exit code and output, for assertion messages.
std::string Show(const RunResult& r);

// The lines of `text` that are JSON objects (warden's --json events, JSON log lines), in order;
// empty lines and lines that are not JSON objects are skipped.
std::vector<nlohmann::json> JsonLines(const std::string& text);

}  // namespace warden::test
