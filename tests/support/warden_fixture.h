#pragma once

// Shared by the sidecar's integration tests: a real redis-server per test suite and a way to
// run the built `warden` binary against it with a hermetic environment.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"

#ifndef WARDEN_BIN
#error "WARDEN_BIN must name the warden binary under test"
#endif

namespace warden::test {

class WardenTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() { redis_ = std::make_unique<RedisServer>(); }
  static void TearDownTestSuite() { redis_.reset(); }

  void SetUp() override {
    if (!redis_->running()) redis_->Restart();
    redis_->Command({"FLUSHALL"});
    // A config file without connection settings keeps a real /etc/warden/warden.toml out of
    // the tests; without the daemon's HTTP endpoint, daemons of tests running in parallel (or
    // of `make run`) never compete for its port.
    empty_config_ = tmp_.Write("empty.toml", "[daemon]\nlisten = \"off\"\n");
  }

  // Options to run warden with `args` against the suite's Redis (--redis first, unless the
  // test passes its own connection settings with `with_redis` false).
  ProcessOptions WardenOptions(const std::vector<std::string>& args, bool with_redis = true) {
    ProcessOptions options;
    options.argv = {WARDEN_BIN};
    if (with_redis) options.argv.insert(options.argv.end(), {"--redis", redis_->url()});
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.unset_env = {"WARDEN_REDIS", "WARDEN_MYSQL"};
    options.env = {{"WARDEN_CONFIG", empty_config_}};
    return options;
  }

  RunResult Warden(const std::vector<std::string>& args,
                   std::optional<std::string> stdin_text = std::nullopt) {
    return test::Run(WardenOptions(args), std::move(stdin_text));
  }

  RedisValue Redis(const std::vector<std::string>& args) { return redis_->Command(args); }
  long long HashLen() { return Redis({"HLEN", "warden:bl:entries"}).integer; }
  bool OnList(const std::string& entry) {
    return Redis({"HEXISTS", "warden:bl:entries", entry}).integer == 1;
  }

  static inline std::unique_ptr<RedisServer> redis_;
  TempDir tmp_{"warden-test"};
  std::string empty_config_;
};

// Output of a failed run, for assertion messages.
inline std::string Show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

}  // namespace warden::test
