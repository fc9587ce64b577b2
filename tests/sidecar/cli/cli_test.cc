// The command line without Redis: parsing, usage errors and exit codes, in-process.
#include "cli/cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "base/errors.h"
#include "support/temp_dir.h"

namespace warden {
namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome RunCli(std::vector<const char*> args) {
  args.insert(args.begin(), "warden");
  std::istringstream in;
  std::ostringstream out, err;
  Cli cli(Environment::FromMap({}), in, out, err, "/nonexistent/warden.toml");
  int code = cli.Run(static_cast<int>(args.size()), args.data());
  return {code, out.str(), err.str()};
}

size_t Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

TEST(Cli, HelpListsCommandsAndExitsZero) {
  Outcome o = RunCli({"--help"});
  EXPECT_EQ(o.code, 0);
  for (const char* command : {"ban", "unban", "list", "export", "config", "daemon"}) {
    EXPECT_NE(o.out.find(command), std::string::npos) << command;
  }
  EXPECT_EQ(RunCli({"ban", "--help"}).code, 0);
}

TEST(Cli, Version) {
  Outcome o = RunCli({"--version"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "warden 0.1.0\n");
}

TEST(Cli, UsageErrorsAreOneLineAndExitTwo) {
  const std::vector<std::vector<const char*>> cases = {
      {},
      {"frobnicate"},
      {"ban"},
      {"ban", "--bogus", "1.2.3.4"},
      {"ban", "not-an-ip"},
      {"ban", "1.2.3.4/24"},
      {"ban", "1.2.3.4", "--ttl", "5 minutes"},
      {"ban", "0.0.0.0/0"},
      {"ban", "1.2.3.4", "--file", "x"},
      {"ban", "1.2.3.4", "--source", "robot"},
      {"unban"},
      {"list", "--source", "robot"},
      {"list", "--limit", "-3"},
      {"export", "--format", "xml"},
      {"config"},
      {"daemon", "--log-format", "xml"},
      {"--redis", "http://x", "list"},
      {"--timeout", "0", "list"},
      {"--prefix", "", "list"},
  };
  for (const auto& args : cases) {
    Outcome o = RunCli(args);
    std::string shown;
    for (const char* a : args) shown += std::string(a) + " ";
    EXPECT_EQ(o.code, kExitUsage) << shown << "\n" << o.err;
    EXPECT_EQ(Lines(o.err), 1u) << shown << "\n" << o.err;
    EXPECT_EQ(o.err.rfind("warden: ", 0), 0u) << shown << "\n" << o.err;
    EXPECT_EQ(o.out, "") << shown;
  }
}

TEST(Cli, HostBitsErrorNamesTheFix) {
  Outcome o = RunCli({"ban", "192.168.1.77/24"});
  EXPECT_EQ(o.err, "warden: \"192.168.1.77/24\" has host bits set; did you mean 192.168.1.0/24?\n");
}

TEST(Cli, GlobalOptionsMayFollowTheCommand) {
  Outcome o = RunCli({"list", "--redis", "http://x"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--redis: bad Redis deployment \"http://x\""), std::string::npos) << o.err;
}

TEST(Cli, ConfigCheckWithoutAFile) {
  Outcome o = RunCli({"config", "check"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("no config file to check"), std::string::npos);
}

TEST(Cli, MysqlOptionIsListedAndChecked) {
  EXPECT_NE(RunCli({"--help"}).out.find("--mysql URL"), std::string::npos);
  Outcome o = RunCli({"list", "--mysql", "mysql://warden:hunter2@db"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("warden: --mysql: bad MySQL URL \"mysql://warden:***@db\": no database"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(o.err.find("hunter2"), std::string::npos) << o.err;
}

TEST(Cli, ConfigCheckValidatesTheMysqlTable) {
  test::TempDir dir("warden-cli");
  std::string good = dir.Write("good.toml", "[mysql]\nurl = \"mysql://w:p@127.0.0.1/warden\"\n");
  Outcome o = RunCli({"config", "check", "--config", good.c_str()});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "config OK: " + good + "\n");

  std::string bad = dir.Write("bad.toml", "[mysql]\nurl = \"mysql://w:p@127.0.0.1:99999/w\"\n");
  o = RunCli({"config", "check", "--config", bad.c_str()});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find(bad + ": mysql.url: bad MySQL URL"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace warden
