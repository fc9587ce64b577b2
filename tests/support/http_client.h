#pragma once

#include <chrono>
#include <map>
#include <string>

namespace warden::test {

struct HttpReply {
  int status = 0;                              // 0: no response (connection failed or timed out)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string error;
};

// One HTTP/1.0 GET over a fresh loopback connection (host "127.0.0.1" or "::1"), with extra
// request headers. Small and blocking: what tests and benchmarks need to poll nginx.
// `source`, when set, is the local address to connect from (any of 127.0.0.0/8 works on
// Linux), so one machine can act as many clients.
HttpReply HttpGet(const std::string& host, int port, const std::string& path,
                  const std::map<std::string, std::string>& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(3),
                  const std::string& source = "");

// The same with another method ("HEAD", "POST", ...) and a request body (sent with a
// Content-Length when not empty).
HttpReply HttpRequest(const std::string& method, const std::string& host, int port,
                      const std::string& path,
                      const std::map<std::string, std::string>& headers = {},
                      const std::string& body = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace warden::test
