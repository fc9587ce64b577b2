#pragma once

// Shared by the sidecar's integration tests: a real redis-server per test suite and a way to
// run the built `warden` binary against it with a hermetic environment (support/warden_cli.h).

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/redis_server.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {

class WardenTest : public RedisSuite {
 public:
  // Options to run warden with `args` against the suite's Redis (--redis first, unless the
  // test passes its own connection settings with `with_redis` false), with the default config.
  ProcessOptions WardenOptions(const std::vector<std::string>& args, bool with_redis = true) {
    return WardenProcessOptions({.args = args, .redis = with_redis ? redis_->url() : ""});
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

  TempDir tmp_{"warden-test"};
};

}  // namespace warden::test
