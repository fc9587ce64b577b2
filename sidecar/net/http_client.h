#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "common/c_ptr.h"

namespace warden {

class CancelToken;

// A transport failure talking HTTP: no connection, a timeout, a transfer cut short. HTTP error
// statuses are not exceptions: they come back in HttpResponse.
class HttpError : public Error {
 public:
  enum class Kind { kConnect, kTimeout, kTransfer, kCancelled };
  HttpError(Kind kind, const std::string& message) : Error(message, kExitFailure), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
};

// A blocking libcurl easy handle (RAII), reused across requests so connections stay alive.
// One HttpClient serves one thread at a time. Redirects are not followed (a 3xx is the answer),
// TLS certificates and host names are verified, and a body over max_response fails the call.
class HttpClient {
 public:
  struct Request {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int64_t connect_timeout_ms = 2000;
    int64_t timeout_ms = 10000;           // the whole transfer
    const CancelToken* cancel = nullptr;  // aborts the transfer when cancelled
    int64_t max_response = 8 << 20;       // bytes of body; a larger response fails the call
  };

  HttpClient();
  HttpResponse Send(const Request& request);

  // "scheme://host:port" of a URL: the remote a circuit breaker stands for.
  static std::string Remote(const std::string& url);

 private:
  CPtr<CURL, curl_easy_cleanup> curl_;
};

}  // namespace warden
