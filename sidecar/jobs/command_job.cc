#include "jobs/command_job.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "jobs/job_services.h"

extern char** environ;

namespace warden {

namespace {

constexpr int64_t kKillAfterMs = 5000;

// argv[0] as execve wants it: a path, found in PATH when it has no '/'.
std::string Resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return program;
}

// Closes every descriptor from `first` on, in a forked child: async-signal-safe.
void CloseFrom(int first) {
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
  const long max = sysconf(_SC_OPEN_MAX);  // a kernel before 5.9
  for (long fd = first; fd < (max > 0 ? max : 65536); ++fd) close(static_cast<int>(fd));
}

void KeepTail(std::string& output, int64_t limit) {
  if (static_cast<int64_t>(output.size()) > limit) {
    output.erase(0, output.size() - static_cast<size_t>(limit));
  }
}

}  // namespace

RunOutcome RunCommand(const RunRequest& request,
                      const std::map<std::string, std::string>& extra_env,
                      const std::vector<std::string>& extra_args, const OutputLineSink& on_line) {
  const JobSpec& job = *request.job;
  const CommandSettings& settings = job.Params<CommandSettings>();
  RunOutcome outcome;
  outcome.started_ms = SystemNowMs();

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  // A command gets PATH and HOME, not the daemon's environment (WARDEN_REDIS and WARDEN_MYSQL
  // hold passwords): what else it needs, its `env` table says. Batch types run warden itself
  // and take the daemon's environment as it is.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr) continue;
    std::string name(*e, static_cast<size_t>(eq - *e));
    if (settings.inherit_env || name == "PATH" || name == "HOME") env[name] = eq + 1;
  }
  if (env.count("PATH") == 0) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& [k, v] : settings.env) env[k] = v;
  env["WARDEN_JOB"] = job.name;
  env["WARDEN_FIRE_TIME"] = std::to_string(request.fire_ms);
  env["WARDEN_FENCE"] = std::to_string(request.fence);
  env["WARDEN_TRIGGER"] = RunTriggerName(request.trigger);
  for (const auto& [k, v] : extra_env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = settings.argv;
  args.insert(args.begin() + 1, extra_args.begin(), extra_args.end());
  const std::string program = Resolve(args.front());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    outcome.result = RunResult::kFailed;
    outcome.error = std::string("cannot create a pipe: ") + std::strerror(errno);
    outcome.finished_ms = SystemNowMs();
    return outcome;
  }
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    if (devnull >= 0) close(devnull);
    outcome.result = RunResult::kFailed;
    outcome.error = std::string("cannot fork: ") + std::strerror(err);
    outcome.finished_ms = SystemNowMs();
    return outcome;
  }
  if (pid == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    CloseFrom(3);  // the daemon's Redis and MariaDB sockets, its HTTP listener, ...
    if (!settings.cwd.empty() && chdir(settings.cwd.c_str()) != 0) {
      const char msg[] = "warden: cannot change to the job's cwd\n";
      ssize_t ignored = write(2, msg, sizeof msg - 1);
      (void)ignored;
      _exit(126);
    }
    execve(program.c_str(), argv.data(), envp.data());
    const char* reason = std::strerror(errno);
    ssize_t ignored = write(2, "warden: cannot execute ", 23);
    ignored = write(2, program.c_str(), program.size());
    ignored = write(2, ": ", 2);
    ignored = write(2, reason, std::strlen(reason));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from here, so the group exists before any kill
  close(fds[1]);
  if (devnull >= 0) close(devnull);

  std::string output;
  std::string partial;  // a line of output not ended yet (for on_line), at most kMaxLine
  constexpr size_t kMaxLine = 64 * 1024;
  int status = 0;
  bool exited = false;
  bool cancelled = false;
  int64_t kill_at = 0;
  char buffer[8192];
  bool open_pipe = true;
  int64_t exited_at = 0;
  while (true) {
    if (!exited) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        exited = true;
        exited_at = SystemNowMs();
      }
    }
    // Stop reading once the program exited and the pipe is drained (or a leftover background
    // process keeps it open for more than a moment).
    if (exited && (!open_pipe || SystemNowMs() - exited_at > 200)) break;
    if (!exited && request.cancel && request.cancel->cancelled()) {
      const int64_t now = SystemNowMs();
      if (!cancelled) {
        cancelled = true;
        kill(-pid, SIGTERM);
        kill_at = now + kKillAfterMs;
      } else if (kill_at != 0 && now >= kill_at) {
        kill(-pid, SIGKILL);
        kill_at = 0;
      }
    }
    if (open_pipe) {
      pollfd pfd{fds[0], POLLIN, 0};
      int rc = poll(&pfd, 1, exited ? 20 : 50);
      if (rc > 0) {
        ssize_t n = read(fds[0], buffer, sizeof buffer);
        if (n > 0) {
          output.append(buffer, static_cast<size_t>(n));
          KeepTail(output, settings.output_limit);
          if (on_line) {
            partial.append(buffer, static_cast<size_t>(n));
            size_t start = 0;
            for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
              on_line(std::string_view(partial).substr(start, nl - start));
            }
            partial.erase(0, start);
            if (partial.size() > kMaxLine) partial.clear();  // not a line anyone reads
          }
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          open_pipe = false;
        }
      }
    } else if (!exited) {
      // Output closed but the program still runs (or is just exiting): wait for it.
      usleep(SystemNowMs() - outcome.started_ms < 1000 ? 1000 : 20000);
    }
  }
  close(fds[0]);
  outcome.output = std::move(output);
  outcome.finished_ms = SystemNowMs();
  if (cancelled) {
    outcome.result = RunResult::kCancelled;
    outcome.error = std::string("stopped: ") + CancelToken::ReasonText(request.cancel->reason());
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    outcome.result = RunResult::kOk;
  } else if (WIFEXITED(status)) {
    outcome.result = RunResult::kFailed;
    outcome.error = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    outcome.result = RunResult::kFailed;
    outcome.error = "killed by signal " + std::to_string(WTERMSIG(status));
  }
  if (!outcome.error.empty() && !outcome.output.empty()) {
    // The last line of output says most about a failure.
    std::string tail = outcome.output;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    size_t nl = tail.rfind('\n');
    std::string last = tail.substr(nl == std::string::npos ? 0 : nl + 1);
    if (last.size() > 200) last = last.substr(0, 200);
    if (!last.empty()) outcome.error += ": " + last;
  }
  return outcome;
}

RunOutcome RunCommandAttempt(const RunRequest& request, int64_t history_id,
                             const JobServices& services, const OutputLineSink& on_line) {
  std::map<std::string, std::string> env = {{"WARDEN_RUN_ID", std::to_string(history_id)}};
  if (!request.job->Params<CommandSettings>().inherit_env) {
    return RunCommand(request, env, {}, on_line);
  }
  // warden itself: the servers this process was given by flag.
  env.insert(services.child_env.begin(), services.child_env.end());
  return RunCommand(request, env, services.child_flags, on_line);
}

JobType CommandJobType() {
  JobType type;
  type.name = "command";
  type.parse = [](TomlReader& r, JobSpec* spec) {
    auto settings = std::make_shared<CommandSettings>();
    const toml::node& command = r.Require("command");
    if (const auto* s = command.as_string()) {
      if (s->get().empty()) r.Fail(&command, "command", "is empty");
      settings->argv = {"/bin/sh", "-c", s->get()};
    } else {
      auto argv = r.StringList("command");
      if (argv->empty() || argv->front().empty()) {
        r.Fail(&command, "command", "needs at least the program");
      }
      settings->argv = *argv;
    }
    if (auto v = r.StringMap("env")) settings->env = *v;
    if (auto v = r.String("cwd")) settings->cwd = *v;
    if (auto v = r.Integer("output_limit", 0, 16 << 20)) settings->output_limit = *v;
    spec->params = std::move(settings);
    return "command, env, cwd, output_limit, " + ParseRunRetries(r, spec);
  };
  type.run = [](const RunRequest& request, int64_t history_id, const JobServices& services) {
    return RunCommandAttempt(request, history_id, services);
  };
  return type;
}

}  // namespace warden
