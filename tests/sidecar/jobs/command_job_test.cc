// A `command` job's child: only the descriptors and the environment it needs, and its whole
// process group stopped on cancel. Real /bin/sh children; no network.
#include "jobs/command_job.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "base/cancel_token.h"
#include "scheduler/job_config.h"

namespace warden {
namespace {

RunRequest Request(const std::string& script, bool inherit_env = false,
                   std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>()) {
  auto settings = std::make_shared<CommandSettings>();
  settings->argv = {"/bin/sh", "-c", script};
  settings->env = {{"FROM_THE_JOB", "yes"}};
  settings->inherit_env = inherit_env;
  auto job = std::make_shared<JobSpec>();
  job->name = "probe";
  job->params = settings;
  RunRequest request;
  request.job = job;
  request.cancel = std::move(cancel);
  return request;
}

// The daemon's secrets and descriptors, as a test process can hold them.
class CommandJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("WARDEN_REDIS", "redis://:daemon-secret@127.0.0.1:6379/0", 1);
    setenv("SOME_DAEMON_SETTING", "daemon-only", 1);
    // No O_CLOEXEC, as hiredis's and httplib's sockets have none; at numbers no shell uses.
    const int file = open("/dev/null", O_RDONLY);
    const int sock = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(file, 0);
    ASSERT_GE(sock, 0);
    file_ = dup2(file, 40);
    socket_ = dup2(sock, 41);
    close(file);
    close(sock);
    ASSERT_EQ(file_, 40);
    ASSERT_EQ(socket_, 41);
  }
  void TearDown() override {
    close(file_);
    close(socket_);
    unsetenv("WARDEN_REDIS");
    unsetenv("SOME_DAEMON_SETTING");
  }
  int file_ = -1;
  int socket_ = -1;
};

TEST_F(CommandJobTest, TheChildHasOnlyStandardDescriptors) {
  // The shell's descriptors, as /proc shows them: 0, 1, 2 and the directory the glob reads.
  RunOutcome outcome =
      RunCommand(Request("for f in /proc/$$/fd/*; do echo \"${f##*/}\"; done"), {});
  ASSERT_EQ(outcome.result, RunResult::kOk) << outcome.error << outcome.output;
  std::set<std::string> fds;
  std::istringstream lines(outcome.output);
  for (std::string line; std::getline(lines, line);) fds.insert(line);
  EXPECT_EQ(fds.count("40"), 0u) << outcome.output;
  EXPECT_EQ(fds.count("41"), 0u) << outcome.output;
  EXPECT_LE(fds.size(), 4u) << outcome.output;
  EXPECT_TRUE(fds.count("0") && fds.count("1") && fds.count("2")) << outcome.output;
}

TEST_F(CommandJobTest, TheChildGetsPathHomeAndItsOwnEnvOnly) {
  RunOutcome outcome = RunCommand(Request("env"), {{"WARDEN_RUN_ID", "7"}});
  ASSERT_EQ(outcome.result, RunResult::kOk) << outcome.error;
  const std::string& env = outcome.output;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
  EXPECT_NE(env.find("FROM_THE_JOB=yes"), std::string::npos) << env;
  EXPECT_NE(env.find("WARDEN_JOB=probe"), std::string::npos) << env;
  EXPECT_NE(env.find("WARDEN_RUN_ID=7"), std::string::npos) << env;
  EXPECT_EQ(env.find("daemon-secret"), std::string::npos) << env;
  EXPECT_EQ(env.find("WARDEN_REDIS"), std::string::npos) << env;
  EXPECT_EQ(env.find("SOME_DAEMON_SETTING"), std::string::npos) << env;
}

TEST_F(CommandJobTest, BatchTypesKeepTheDaemonsEnvironment) {
  RunOutcome outcome = RunCommand(Request("env", /*inherit_env=*/true), {});
  ASSERT_EQ(outcome.result, RunResult::kOk) << outcome.error;
  EXPECT_NE(outcome.output.find("WARDEN_REDIS="), std::string::npos);
  EXPECT_NE(outcome.output.find("SOME_DAEMON_SETTING=daemon-only"), std::string::npos);
}

TEST_F(CommandJobTest, CancelStopsTheWholeGroupEvenAChildThatIgnoresTerm) {
  // The shell ignores TERM and starts a grandchild that does too; both must be gone after the
  // cancel: TERM to the group, then KILL after the grace period.
  auto cancel = std::make_shared<CancelToken>();
  std::thread stopper([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel->Cancel(CancelToken::Reason::kTimeout);
  });
  RunOutcome outcome = RunCommand(
      Request("trap '' TERM; (trap '' TERM; echo $(exec sh -c 'echo $PPID'); sleep 60) & "
              "sleep 60",
              false, cancel),
      {});
  stopper.join();
  EXPECT_EQ(outcome.result, RunResult::kCancelled) << outcome.error << outcome.output;
  std::istringstream lines(outcome.output);
  pid_t grandchild = 0;
  lines >> grandchild;
  ASSERT_GT(grandchild, 0) << outcome.output;
  // Gone, or at most a zombie waiting for its reaper. The KILL went to the group before the
  // run returned, but a loaded machine may not have scheduled the grandchild's exit yet (CI
  // once saw it still "R", reparented to init): its state is read until it is gone, bounded.
  auto state = [grandchild] {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    return std::string((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  };
  std::string content = state();
  for (int i = 0; i < 500 && !content.empty() && content.find(") Z ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    content = state();
  }
  EXPECT_TRUE(content.empty() || content.find(") Z ") != std::string::npos) << content;
}

}  // namespace
}  // namespace warden
