#include "support/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

extern char** environ;

namespace warden::test {

namespace {

std::string CaptureFile(const char* stream) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/warden-" + stream + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = mkstemp(buf.data());
  if (fd < 0) throw std::runtime_error("mkstemp: " + std::string(std::strerror(errno)));
  close(fd);
  return buf.data();
}

int OpenOrThrow(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  return fd;
}

int StatusFromWait(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

}  // namespace

Process Process::Start(ProcessOptions options) {
  if (options.argv.empty()) throw std::invalid_argument("Process::Start: empty argv");
  Process process;
  process.stdout_path_ = options.stdout_path;
  process.stderr_path_ = options.stderr_path;
  if (process.stdout_path_.empty()) {
    process.stdout_path_ = CaptureFile("stdout");
    process.owned_files_.push_back(process.stdout_path_);
  }
  if (process.stderr_path_.empty()) {
    process.stderr_path_ = CaptureFile("stderr");
    process.owned_files_.push_back(process.stderr_path_);
  }

  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<std::string> env_strings;
  std::set<std::string> replaced(options.unset_env.begin(), options.unset_env.end());
  for (const auto& [name, value] : options.env) replaced.insert(name);
  if (!options.clear_env) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      std::string name(entry.substr(0, entry.find('=')));
      if (replaced.count(name) == 0) env_strings.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : options.env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (std::string& s : options.argv) argv.push_back(s.data());
  argv.push_back(nullptr);

  // Resolve argv[0] in PATH now, so the child does not need getenv/malloc.
  std::string program = options.argv[0];
  if (program.find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string candidate = dirs.substr(start, end - start) + "/" + options.argv[0];
      if (access(candidate.c_str(), X_OK) == 0) {
        program = candidate;
        break;
      }
      start = end + 1;
    }
  }

  int in_fd = OpenOrThrow(options.stdin_path.empty() ? "/dev/null" : options.stdin_path, O_RDONLY);
  int out_fd = OpenOrThrow(process.stdout_path_, O_WRONLY | O_CREAT | O_APPEND);
  int err_fd = OpenOrThrow(process.stderr_path_, O_WRONLY | O_CREAT | O_APPEND);
  int report[2];  // the child writes errno here if exec fails; CLOEXEC closes it on success
  if (pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    int saved = errno;
    for (int fd : {in_fd, out_fd, err_fd, report[0], report[1]}) close(fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(saved));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    // Nothing else of this process leaks into the child (its servers' and clients' sockets):
    // a program like wrk sizes its event loop for the descriptors it opens itself, and fails
    // to register a socket numbered above that. CLOEXEC, so `report` works until exec.
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
      int e = errno;
      ssize_t ignored = write(report[1], &e, sizeof e);
      (void)ignored;
      _exit(127);
    }
    execve(program.c_str(), argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = write(report[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }

  process.pid_ = pid;
  for (int fd : {in_fd, out_fd, err_fd, report[1]}) close(fd);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    process.Reap(true);
    throw std::runtime_error("cannot run " + options.argv[0] + ": " + std::strerror(child_errno));
  }
  return process;
}

Process::~Process() { Release(); }

Process::Process(Process&& other) noexcept
    : pid_(other.pid_),
      status_(other.status_),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)),
      owned_files_(std::move(other.owned_files_)) {
  other.pid_ = -1;
  other.owned_files_.clear();
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = other.pid_;
    status_ = other.status_;
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
    owned_files_ = std::move(other.owned_files_);
    other.pid_ = -1;
    other.owned_files_.clear();
  }
  return *this;
}

void Process::Release() {
  if (pid_ > 0 && !status_) Kill();
  for (const std::string& path : owned_files_) unlink(path.c_str());
  owned_files_.clear();
  pid_ = -1;
}

void Process::Reap(bool block) {
  if (pid_ <= 0 || status_) return;
  int raw = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &raw, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) status_ = StatusFromWait(raw);
  if (r < 0 && errno == ECHILD) status_ = -1;  // reaped elsewhere; nothing more to learn
}

bool Process::Running() {
  Reap(false);
  return pid_ > 0 && !status_;
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    Reap(false);
    if (status_ || pid_ <= 0) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Process::Signal(int signal) {
  if (pid_ > 0 && !status_) kill(pid_, signal);
}

int Process::Kill() {
  if (pid_ > 0 && !status_) {
    kill(-pid_, SIGKILL);  // the group: the process and anything it started
    kill(pid_, SIGKILL);   // in case it left its group
    Reap(true);
  }
  return status_.value_or(-1);
}

std::string Process::Stdout() const { return ReadFile(stdout_path_); }
std::string Process::Stderr() const { return ReadFile(stderr_path_); }

RunResult Run(ProcessOptions options, std::optional<std::string> stdin_text,
              std::chrono::milliseconds timeout) {
  std::optional<TempDir> input_dir;
  if (stdin_text) {
    input_dir.emplace("warden-stdin");
    options.stdin_path = input_dir->Write("stdin", *stdin_text);
  }
  Process process = Process::Start(std::move(options));
  RunResult result;
  auto status = process.Wait(timeout);
  if (!status) {
    process.Kill();
    result.timed_out = true;
  } else {
    result.exit_code = *status;
  }
  result.out = process.Stdout();
  result.err = process.Stderr();
  return result;
}

RunResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::optional<std::string> stdin_text, std::chrono::milliseconds timeout) {
  ProcessOptions options;
  options.argv = argv;
  options.env = env;
  return Run(std::move(options), std::move(stdin_text), timeout);
}

}  // namespace warden::test
