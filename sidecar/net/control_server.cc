#include "net/control_server.h"

#include <httplib.h>

#include <cerrno>
#include <cstring>

namespace warden {

namespace {

// Compares in time that depends on the length only, not on where the texts differ.
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

ControlServer::ControlServer(Handlers handlers)
    : handlers_(std::move(handlers)), server_(std::make_unique<httplib::Server>()) {
  auto send = [](httplib::Response& res, const Reply& reply) {
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type.c_str());
  };
  server_->set_payload_max_length(kMaxBody);
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (handlers_.token.empty() || req.path == "/healthz" ||
        (req.path == "/metrics" && !handlers_.metrics_token)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (SameSecret(req.get_header_value("Authorization"), "Bearer " + handlers_.token)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content("{\"error\":\"this needs the daemon's token: Authorization: Bearer ...\"}",
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
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
  server_->set_tcp_nodelay(true);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
}

ControlServer::~ControlServer() { Stop(); }

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
    server_->stop();
    thread_.join();
  }
}

}  // namespace warden
