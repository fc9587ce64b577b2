#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace httplib {
class Server;
}

namespace warden {

// The daemon's HTTP endpoint (cpp-httplib), on 127.0.0.1 by default ([daemon] listen):
//   GET  /metrics         Prometheus text
//   GET  /jobs            the jobs as JSON (next fire time, runs going on, last result)
//   POST /jobs/NAME/run   start a run now (`warden job run NAME`): 202 {"run": ID}, 404, 409
//   GET  /runs/ID         a run started here: {"state": "running"} or its outcome
//   GET  /healthz         "ok"
// With a token, every path but /healthz (and /metrics, unless metrics_token) needs
// "Authorization: Bearer TOKEN" (401 without it); without one the daemon listens on loopback
// only ([daemon] token_file). Request bodies over 4 KiB get 413. Handlers run on the server's
// threads.
class ControlServer {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  struct Handlers {
    std::function<std::string()> metrics;
    std::function<Reply()> jobs;
    std::function<Reply(const std::string& name)> run;
    std::function<Reply(uint64_t id)> run_status;
    std::string token;           // "": no token asked for
    bool metrics_token = false;  // /metrics needs the token too
  };

  static constexpr size_t kMaxBody = 4096;

  explicit ControlServer(Handlers handlers);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds host:port and starts serving; false with `error` when the address is unusable.
  bool Start(const std::string& host, int port, std::string* error);
  void Stop();

 private:
  Handlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace warden
