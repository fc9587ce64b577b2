#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace warden::test {

// A real nginx (Debian's binary) loading the Warden module under test, on a free loopback
// port in its own temporary directory, the way nginx-tests runs it: a configuration written
// per test, then real HTTP requests and a look at the logs.
//
// In `http` (the body of the http block) and `main` these placeholders are replaced:
//   @PORT@ the port, @DIR@ the directory, @MMDB@ the country database, @CONF@ the repo's conf/.
// A server block serving "ok" from @DIR@/html is the test's to write; the fixture creates
// @DIR@/html/index.html.
class NginxServer {
 public:
  struct Options {
    std::string http;
    std::string main;
    int workers = 2;
    bool load_module = true;  // false: stock nginx, the baseline of benchmarks
    std::string module_path;  // the .so to load; empty: the build's (WARDEN_MODULE_SO)
  };

  // Starts nginx and waits until its sockets listen; throws std::runtime_error with the error
  // log when it does not start.
  explicit NginxServer(Options options);
  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  // `nginx -t` of a configuration made like the constructor's, without starting anything.
  static RunResult Test(const Options& options);

  int port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }
  std::string ErrorLog() const;
  std::string AccessLog(const std::string& name = "access.log") const;
  std::vector<pid_t> WorkerPids() const;
  // What AddressSanitizer reported in nginx's processes (under WARDEN_TEST_NGINX_PRELOAD);
  // the destructor fails the test with it.
  std::string SanitizerReports() const;

  // `nginx -s reload`: SIGHUP, then waits until a new set of workers runs.
  void Reload();
  // Rewrites nginx.conf (same port and directory) from other options, for the next reload.
  void Reconfigure(Options options);
  // SIGHUP without waiting: for a reload that nginx is expected to refuse.
  void SendReload();
  // Graceful stop (SIGQUIT), waiting for the master to exit.
  void Quit();

  HttpReply Get(const std::string& path, const std::map<std::string, std::string>& headers = {},
                const std::string& host = "127.0.0.1") const;

 private:
  static std::string Render(const Options& options, const std::string& dir, int port);

  Options options_;
  TempDir dir_{"warden-nginx"};
  int port_ = 0;
  std::optional<Process> master_;
};

}  // namespace warden::test
