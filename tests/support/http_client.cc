#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace warden::test {

namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(left.count())) == 1;
}

HttpReply Exchange(const std::string& method, const std::string& host, int port,
                   const std::string& path, const std::map<std::string, std::string>& headers,
                   const std::string& body, std::chrono::milliseconds timeout,
                   const std::string& source) {
  HttpReply res;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_storage ss{};
  socklen_t len;
  bool v6 = host.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  Socket s(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (s.fd() < 0) {
    res.error = std::strerror(errno);
    return res;
  }
  if (!source.empty() && !v6) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (bind(s.fd(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      res.error = std::string("bind: ") + std::strerror(errno);
      return res;
    }
  }
  if (connect(s.fd(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    res.error = std::string("connect: ") + std::strerror(errno);
    return res;
  }
  if (!WaitFor(s.fd(), POLLOUT, deadline)) {
    res.error = "connect timed out";
    return res;
  }
  int err = 0;
  socklen_t err_len = sizeof err;
  getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &err_len);
  if (err) {
    res.error = std::string("connect: ") + std::strerror(err);
    return res;
  }
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: " + (v6 ? "[" + host + "]" : host) +
                    "\r\nConnection: close\r\n";
  for (auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(s.fd(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!WaitFor(s.fd(), POLLOUT, deadline)) {
        res.error = "send timed out";
        return res;
      }
    } else {
      res.error = std::string("send: ") + std::strerror(errno);
      return res;
    }
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(s.fd(), buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN) {
      if (!WaitFor(s.fd(), POLLIN, deadline)) {
        res.error = "response timed out";
        return res;
      }
    } else {
      // A reset after a complete response (nginx's 444, lingering close) still counts.
      if (raw.empty()) res.error = std::string("recv: ") + std::strerror(errno);
      break;
    }
  }
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) {
    if (res.error.empty()) res.error = "no HTTP response";
    return res;
  }
  res.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      size_t vstart = line.find_first_not_of(' ', colon + 1);
      res.headers[name] = vstart == std::string::npos ? "" : line.substr(vstart);
    }
    pos = eol + 2;
  }
  res.body = raw.substr(head_end + 4);
  return res;
}

}  // namespace

HttpReply HttpGet(const std::string& host, int port, const std::string& path,
                  const std::map<std::string, std::string>& headers,
                  std::chrono::milliseconds timeout, const std::string& source) {
  return Exchange("GET", host, port, path, headers, "", timeout, source);
}

HttpReply HttpRequest(const std::string& method, const std::string& host, int port,
                      const std::string& path, const std::map<std::string, std::string>& headers,
                      const std::string& body, std::chrono::milliseconds timeout) {
  return Exchange(method, host, port, path, headers, body, timeout, "");
}

}  // namespace warden::test
