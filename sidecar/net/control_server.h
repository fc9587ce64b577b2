#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace warden {

// The daemon's HTTP endpoint (cpp-httplib), on 127.0.0.1 by default ([daemon] listen):
//   GET  /metrics         Prometheus text
//   GET  /jobs            the jobs as JSON (next fire time, runs going on, last result)
//   POST /jobs/NAME/run   start a run now (`warden job run NAME`): 202 {"run": ID}, 404, 409
//   GET  /runs/ID         a run started here: {"state": "running"} or its outcome
//   GET  /healthz         "ok"
// and, with a console handler, the operator's console (docs/console.md):
//   GET  /, /console.js, /console.css   the page (a login form while not authenticated)
//   POST /login           form field token=...: sets the session cookie
//   GET  /api/v1/NAME     JSON snapshots;  POST /api/v1/NAME  write actions
//   GET  /api/v1/events   Server-Sent Events, at most kMaxEventStreams at once (503 beyond)
// With a token, every path but /healthz (and /metrics, unless metrics_token) needs
// "Authorization: Bearer TOKEN" (401 without it); the console's paths also take the session
// cookie that /login sets. Without a token the daemon listens on loopback only
// ([daemon] token_file). The console's paths answer only to a Host that is an IP address,
// localhost or one of `host_names` (against DNS rebinding); a POST to /api/v1/ needs the
// header X-Warden-CSRF with this start's CSRF token and, when the browser sends an Origin,
// the same origin. Request bodies over 4 KiB get 413. Handlers run on the server's threads.
class ControlServer {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  struct ConsoleRequest {
    std::string method;  // GET or POST
    std::string path;    // "/", "/console.js", "/api/v1/bans", ...
    std::map<std::string, std::string> query;
    std::string body;
    std::string peer;    // the client's address
    std::string csrf;    // this start's CSRF token, for the page to embed
    bool authenticated;  // with the token (bearer or session cookie); false: no token asked for
  };
  struct Handlers {
    std::function<std::string()> metrics;
    std::function<Reply()> jobs;
    std::function<Reply(const std::string& name)> run;
    std::function<Reply(uint64_t id)> run_status;
    std::string token;           // "": no token asked for
    bool metrics_token = false;  // /metrics needs the token too
    // The console; empty: none. `console` answers its page and /api/v1/ (but events).
    std::function<Reply(const ConsoleRequest&)> console;
    // Waits up to `wait_ms` for a snapshot newer than `*seq`: returns it and moves `*seq`,
    // or "" when there was none.
    std::function<std::string(uint64_t* seq, int64_t wait_ms)> next_event;
    std::vector<std::string> host_names;  // names the console answers to, besides addresses
  };

  static constexpr size_t kMaxBody = 4096;
  // Event streams hold a thread each: at most this many at once, on a pool that keeps
  // kSpareThreads more for everything else.
  static constexpr int kMaxEventStreams = 8;
  static constexpr int kSpareThreads = 4;
  static constexpr const char* kCsrfHeader = "X-Warden-CSRF";
  static constexpr const char* kSessionCookie = "warden_session";

  explicit ControlServer(Handlers handlers);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds host:port and starts serving; false with `error` when the address is unusable.
  bool Start(const std::string& host, int port, std::string* error);
  void Stop();

  int event_streams() const { return streams_.load(); }

 private:
  bool HostAllowed(const httplib::Request& req) const;
  bool SessionCookie(const httplib::Request& req) const;
  void Console(const httplib::Request& req, httplib::Response& res, bool authenticated);
  void Events(httplib::Response& res);
  void Login(const httplib::Request& req, httplib::Response& res);

  Handlers handlers_;
  std::string csrf_;     // random, per start
  std::string session_;  // random, per start: the session cookie's value
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<int> streams_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace warden
