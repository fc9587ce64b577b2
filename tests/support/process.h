#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden::test {

// How to start a child process.
struct ProcessOptions {
  // argv[0] is looked up in PATH unless it contains a '/'.
  std::vector<std::string> argv;
  // The child inherits this process's environment (or none, with clear_env), minus unset_env,
  // plus env.
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;
  bool clear_env = false;
  std::string cwd;          // empty: the current directory
  std::string stdin_path;   // empty: /dev/null
  std::string stdout_path;  // empty: captured in a private temporary file, see Process::Stdout
  std::string stderr_path;  // empty: captured, see Process::Stderr
};

// A child process (fork + exec), in its own process group so that Kill() also takes down
// anything it started. The child gets SIGKILL if the test process dies first. Destroying a
// Process that still runs kills it (SIGKILL to the group) and reaps it, so a failing test
// never leaks servers. Movable, not copyable.
//
// Exit statuses are reported the way a shell does: the exit code, or 128 + the signal number
// when a signal ended the process.
class Process {
 public:
  // Throws std::runtime_error when the program cannot be started (including exec failures).
  static Process Start(ProcessOptions options);

  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process has exited (it is reaped then).
  bool Running();
  // The exit status, or nullopt if it still runs after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Sends `signal` to the process itself (SIGTERM for a graceful stop).
  void Signal(int signal);
  // SIGKILL to the whole process group, then reaps; returns the exit status.
  int Kill();
  // The status once the process has been reaped.
  std::optional<int> exit_status() const { return status_; }

  // The output so far (captured, or read back from stdout_path / stderr_path).
  std::string Stdout() const;
  std::string Stderr() const;
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  Process() = default;
  void Reap(bool block);
  void Release();

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string stdout_path_;
  std::string stderr_path_;
  std::vector<std::string> owned_files_;  // capture files, removed on destruction
};

// The outcome of Run. (Named out/err: stdout and stderr are macros in <cstdio>.)
struct RunResult {
  int exit_code = -1;  // as Process reports it; -1 if it timed out (and was killed)
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs a command to completion with `stdin_text` as its standard input (none: /dev/null),
// and returns its exit code and output. A command still running after `timeout` is killed.
RunResult Run(ProcessOptions options, std::optional<std::string> stdin_text = std::nullopt,
              std::chrono::milliseconds timeout = std::chrono::seconds(30));
RunResult Run(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {},
              std::optional<std::string> stdin_text = std::nullopt,
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace warden::test
