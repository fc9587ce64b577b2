#include "support/nginx_server.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "support/free_port.h"
#include "support/poll_until.h"

#ifndef WARDEN_MODULE_SO
#error "WARDEN_MODULE_SO must name the module under test"
#endif

namespace warden::test {

namespace {

using namespace std::chrono_literals;

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

pid_t ParentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  // The command name may hold spaces and parentheses: the state follows the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  char state;
  pid_t ppid;
  rest >> state >> ppid;
  return state == 'Z' ? -1 : ppid;
}

// The module under test: the options', else WARDEN_TEST_MODULE_SO (the AddressSanitizer
// build of `make test-module-asan`), else the build's.
std::string ModuleSo(const NginxServer::Options& options) {
  if (!options.module_path.empty()) return options.module_path;
  const char* asan = std::getenv("WARDEN_TEST_MODULE_SO");
  return asan != nullptr && *asan != '\0' ? asan : WARDEN_MODULE_SO;
}

// Under WARDEN_TEST_NGINX_PRELOAD (the ASan runtime), nginx runs with it preloaded and writes
// its reports next to the server's files, where the destructor looks for them.
void Sanitize(ProcessOptions* po, const std::string& dir) {
  const char* preload = std::getenv("WARDEN_TEST_NGINX_PRELOAD");
  if (preload == nullptr || *preload == '\0') return;
  po->env["LD_PRELOAD"] = preload;
  // nginx frees its pools at exit only in part: leaks are not what this run looks for.
  po->env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1:log_path=" + dir + "/asan";
}

}  // namespace

std::string NginxServer::Render(const Options& options, const std::string& dir, int port) {
  std::string conf =
      (options.load_module ? "load_module " + ModuleSo(options) + ";\n" : std::string()) +
      std::string(geteuid() == 0 ? "user root;\n" : "") + "worker_processes " +
      std::to_string(options.workers) +
      ";\n"
      "error_log @DIR@/error.log notice;\n"
      "pid @DIR@/nginx.pid;\n" +
      options.main +
      "\nevents { worker_connections 1024; }\n"
      "http {\n"
      "  client_body_temp_path @DIR@/tmp_body;\n"
      "  proxy_temp_path @DIR@/tmp_proxy;\n"
      "  fastcgi_temp_path @DIR@/tmp_fastcgi;\n"
      "  uwsgi_temp_path @DIR@/tmp_uwsgi;\n"
      "  scgi_temp_path @DIR@/tmp_scgi;\n" +
      std::string(options.http.find("access_log") == std::string::npos
                      ? "  access_log @DIR@/access.log;\n"
                      : "") +
      options.http + "\n}\n";
  ReplaceAll(conf, "@PORT@", std::to_string(port));
  ReplaceAll(conf, "@DIR@", dir);
  ReplaceAll(conf, "@MMDB@", WARDEN_COUNTRY_MMDB);
  ReplaceAll(conf, "@CONF@", WARDEN_CONF_DIR);
  return conf;
}

NginxServer::NginxServer(Options options) : options_(std::move(options)) {
  mkdir(dir_.File("html").c_str(), 0755);
  mkdir(dir_.File("html/open").c_str(), 0755);
  dir_.Write("html/index.html", "ok\n");
  dir_.Write("html/open/index.html", "open\n");
  port_ = FreePort();
  std::string conf = dir_.Write("nginx.conf", Render(options_, dir_.path(), port_));
  ProcessOptions po;
  po.argv = {"nginx", "-c", conf, "-p", dir_.path() + "/", "-g", "daemon off;"};
  po.stderr_path = dir_.File("stderr.log");
  Sanitize(&po, dir_.path());
  master_.emplace(Process::Start(po));
  bool up =
      PollUntil([&] { return FileExists(dir_.File("nginx.pid")) || !master_->Running(); }, 10s);
  if (!up || !master_->Running()) {
    throw std::runtime_error("nginx did not start:\n" + ReadFile(dir_.File("stderr.log")) +
                             ErrorLog());
  }
  PollUntil([&] { return WorkerPids().size() == static_cast<size_t>(options_.workers); }, 10s);
}

NginxServer::~NginxServer() {
  if (master_ && master_->Running()) master_->Kill();
  if (std::string reports = SanitizerReports(); !reports.empty()) {
    ADD_FAILURE() << "AddressSanitizer in nginx:\n" << reports;
  }
}

std::string NginxServer::SanitizerReports() const {
  std::string reports;
  DIR* dir = opendir(dir_.path().c_str());
  if (dir == nullptr) return reports;
  while (dirent* e = readdir(dir)) {
    if (std::string(e->d_name).rfind("asan.", 0) == 0) reports += ReadFile(dir_.File(e->d_name));
  }
  closedir(dir);
  return reports;
}

RunResult NginxServer::Test(const Options& options) {
  TempDir dir("warden-nginx-t");
  std::string conf = dir.Write("nginx.conf", Render(options, dir.path(), FreePort()));
  ProcessOptions po;
  po.argv = {"nginx", "-t", "-q", "-c", conf, "-p", dir.path() + "/"};
  Sanitize(&po, dir.path());
  return Run(po);
}

std::string NginxServer::ErrorLog() const {
  std::string path = dir_.File("error.log");
  return FileExists(path) ? ReadFile(path) : "";
}

std::string NginxServer::AccessLog(const std::string& name) const {
  std::string path = dir_.File(name);
  return FileExists(path) ? ReadFile(path) : "";
}

std::vector<pid_t> NginxServer::WorkerPids() const {
  std::vector<pid_t> pids;
  if (!master_) return pids;
  DIR* proc = opendir("/proc");
  if (!proc) return pids;
  while (dirent* e = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid > 0 && ParentOf(pid) == master_->pid()) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

void NginxServer::Reload() {
  auto before = WorkerPids();
  std::set<pid_t> old(before.begin(), before.end());
  master_->Signal(SIGHUP);
  bool renewed = PollUntil(
      [&] {
        auto now = WorkerPids();
        if (now.size() != static_cast<size_t>(options_.workers)) return false;
        for (pid_t p : now) {
          if (old.count(p)) return false;
        }
        return true;
      },
      10s);
  if (!renewed) throw std::runtime_error("nginx reload did not finish:\n" + ErrorLog());
}

void NginxServer::Reconfigure(Options options) {
  options_ = std::move(options);
  dir_.Write("nginx.conf", Render(options_, dir_.path(), port_));
}

void NginxServer::SendReload() { master_->Signal(SIGHUP); }

void NginxServer::Quit() {
  master_->Signal(SIGQUIT);
  if (!master_->Wait(10s)) master_->Kill();
}

HttpReply NginxServer::Get(const std::string& path,
                           const std::map<std::string, std::string>& headers,
                           const std::string& host) const {
  return HttpGet(host, port_, path, headers);
}

}  // namespace warden::test
