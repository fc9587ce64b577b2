#include "net/control_server.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <cerrno>
#include <cstring>

#include "base/random_hex.h"

namespace warden {

namespace {

// Compares in time that depends on the length only, not on where the texts differ.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool IsConsolePath(const std::string& path) {
  return path == "/" || path == "/login" || path.starts_with("/console.") ||
         path.starts_with("/api/");
}

void SendJsonError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  std::string body = "{\"error\":\"";
  for (char c : message) {  // ours, with at most a header's value quoted in them
    if (c == '"' || c == '\\') body += '\\';
    body += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  res.set_content(body + "\"}\n", "application/json");
}

constexpr const char* kLoginPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Warden console: sign in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28em;margin:4em auto;padding:0 1em}
input,button{font:inherit;padding:.4em;margin:.3em 0;width:100%;box-sizing:border-box}</style>
</head><body><h1>Warden console</h1>
<p>This daemon asks for its token (the content of <code>[daemon] token_file</code>).</p>
<form method="post" action="/login"><label>Token <input name="token" type="password"
autocomplete="current-password" required autofocus></label><button>Sign in</button></form>
</body></html>
)html";

}  // namespace

ControlServer::ControlServer(Handlers handlers)
    : handlers_(std::move(handlers)),
      csrf_(RandomHex(32)),
      session_(RandomHex(48)),
      server_(std::make_unique<httplib::Server>()) {
  auto send = [](httplib::Response& res, const Reply& reply) {
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type.c_str());
  };
  server_->set_payload_max_length(kMaxBody);
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool console = IsConsolePath(req.path);
    if (console && !handlers_.console) return httplib::Server::HandlerResponse::Unhandled;
    if (console && !HostAllowed(req)) {
      SendJsonError(res, 403,
                    "the console answers only to an IP address, localhost or this host's name "
                    "in Host (against DNS rebinding)");
      return httplib::Server::HandlerResponse::Handled;
    }
    bool authenticated = false;
    if (!handlers_.token.empty()) {
      authenticated =
          SameSecret(req.get_header_value("Authorization"), "Bearer " + handlers_.token) ||
          (console && SessionCookie(req));
      const bool open = req.path == "/healthz" || req.path == "/login" ||
                        (req.path == "/metrics" && !handlers_.metrics_token) ||
                        (req.path == "/" && req.method == "GET");  // "/" shows the login form
      if (!authenticated && !open) {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer");
        SendJsonError(res, 401,
                      "this needs the daemon's token: Authorization: Bearer ..., or sign in at /");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (console && req.method == "POST" && req.path != "/login") {
      const std::string origin = req.get_header_value("Origin");
      const std::string host = req.get_header_value("Host");
      if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
        SendJsonError(res, 403,
                      "cross-origin write refused: Origin " + origin + " is not this console's");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!SameSecret(req.get_header_value(kCsrfHeader), csrf_)) {
        SendJsonError(res, 403,
                      "a write needs the header X-Warden-CSRF with the console's CSRF token "
                      "(in the page, or GET /api/v1/session)");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/jobs", [this, send](const httplib::Request&, httplib::Response& res) {
    send(res, handlers_.jobs());
  });
  server_->Post(R"(/jobs/([A-Za-z0-9_.\-]+)/run)",
                [this, send](const httplib::Request& req, httplib::Response& res) {
                  send(res, handlers_.run(req.matches[1]));
                });
  server_->Get(R"(/runs/(\d{1,18}))",
               [this, send](const httplib::Request& req, httplib::Response& res) {
                 send(res, handlers_.run_status(std::stoull(req.matches[1])));
               });
  if (handlers_.console) {
    auto console = [this](const httplib::Request& req, httplib::Response& res) {
      const bool authenticated =
          !handlers_.token.empty() &&
          (SameSecret(req.get_header_value("Authorization"), "Bearer " + handlers_.token) ||
           SessionCookie(req));
      if (!handlers_.token.empty() && !authenticated) {  // only "/" gets here unauthenticated
        res.set_content(kLoginPage, "text/html; charset=utf-8");
        return;
      }
      Console(req, res, authenticated);
    };
    server_->Get("/", console);
    server_->Get(R"(/console\.(js|css))", console);
    server_->Get(R"(/api/v1/events)",
                 [this](const httplib::Request&, httplib::Response& res) { Events(res); });
    server_->Get(R"(/api/v1/[a-z]+)", console);
    server_->Post(R"(/api/v1/[a-z]+)", console);
    server_->Post("/login",
                  [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
  }
  server_->set_tcp_nodelay(true);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_keep_alive_timeout(2);
  server_->new_task_queue = [] {
    return new httplib::ThreadPool(kMaxEventStreams + kSpareThreads);
  };
}

ControlServer::~ControlServer() { Stop(); }

bool ControlServer::HostAllowed(const httplib::Request& req) const {
  std::string host = req.get_header_value("Host");
  if (host.empty()) return true;  // HTTP/1.0 without Host: not a browser's request
  if (host.front() == '[') return host.find(']') != std::string::npos;  // an IPv6 address
  host = host.substr(0, host.find(':'));
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return true;
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  for (const std::string& name : handlers_.host_names) {
    if (strcasecmp(name.c_str(), host.c_str()) == 0) return true;
  }
  return false;
}

bool ControlServer::SessionCookie(const httplib::Request& req) const {
  const std::string cookies = req.get_header_value("Cookie");
  const std::string name = std::string(kSessionCookie) + "=";
  for (size_t pos = 0; pos < cookies.size();) {
    size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    std::string pair = cookies.substr(pos, end - pos);
    pair.erase(0, pair.find_first_not_of(' '));
    if (pair.starts_with(name) && SameSecret(pair.substr(name.size()), session_)) return true;
    pos = end + 1;
  }
  return false;
}

void ControlServer::Console(const httplib::Request& req, httplib::Response& res,
                            bool authenticated) {
  ConsoleRequest request;
  request.method = req.method;
  request.path = req.path;
  for (const auto& [key, value] : req.params) request.query.emplace(key, value);
  request.body = req.body;
  request.peer = req.remote_addr;
  request.csrf = csrf_;
  request.authenticated = authenticated;
  Reply reply = handlers_.console(request);
  res.status = reply.status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_content(reply.body, reply.content_type.c_str());
}

void ControlServer::Events(httplib::Response& res) {
  if (streams_.fetch_add(1) >= kMaxEventStreams) {
    streams_.fetch_sub(1);
    SendJsonError(res, 503,
                  "too many event streams (" + std::to_string(kMaxEventStreams) +
                      "): close a console tab, or poll /api/v1/overview");
    res.set_header("Retry-After", "5");
    return;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, seq = uint64_t{0}](size_t, httplib::DataSink& sink) mutable {
        if (stopping_) return false;
        std::string data = handlers_.next_event(&seq, 1000);
        if (stopping_) return false;
        const std::string chunk =
            data.empty() ? std::string(": keep-alive\n\n") : "retry: 2000\ndata: " + data + "\n\n";
        return sink.write(chunk.data(), chunk.size());
      },
      [this](bool) { streams_.fetch_sub(1); });
}

void ControlServer::Login(const httplib::Request& req, httplib::Response& res) {
  if (handlers_.token.empty()) {
    res.set_redirect("/", 303);
    return;
  }
  if (!SameSecret(req.get_param_value("token"), handlers_.token)) {
    res.status = 401;
    res.set_content(kLoginPage, "text/html; charset=utf-8");
    return;
  }
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + session_ +
                                   "; HttpOnly; SameSite=Strict; Path=/");
  res.set_redirect("/", 303);
}

bool ControlServer::Start(const std::string& host, int port, std::string* error) {
  if (!server_->bind_to_port(host, port)) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void ControlServer::Stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    server_->stop();
    thread_.join();
  }
}

}  // namespace warden
