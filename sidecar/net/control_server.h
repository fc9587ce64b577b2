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
// Anyone who can connect can start runs: keep it on loopback (the default) or a private
// network. Handlers run on the server's threads.
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
  };

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
