#include "net/http_client.h"

#include <mutex>
#include <optional>

#include "base/cancel_token.h"
#include "base/duration.h"
#include "common/c_ptr.h"
#include "common/url.h"

namespace warden {

namespace {

// The body so far and its cap.
struct Body {
  std::string* text;
  int64_t max;
  bool too_large = false;
};

size_t Append(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  if (static_cast<int64_t>(body->text->size() + size * count) > body->max) {
    body->too_large = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  body->text->append(data, size * count);
  return size * count;
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const CancelToken*>(user);
  return cancel != nullptr && cancel->cancelled() ? 1 : 0;
}

}  // namespace

HttpClient::HttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_.reset(curl_easy_init());
  if (!curl_) throw HttpError(HttpError::Kind::kConnect, "cannot create a libcurl handle");
}

std::string HttpClient::Remote(const std::string& url) {
  std::string why;
  std::optional<Url> parts = Url::Split(url, &why);
  if (!parts) return Url::Redact(url);
  std::string port = parts->port;
  if (port.empty()) port = parts->scheme == "https" ? "443" : "80";
  return parts->scheme + "://" + Url::HostPort(parts->host, port);
}

HttpResponse HttpClient::Send(const Request& request) {
  CURL* curl = curl_.get();
  curl_easy_reset(curl);
  HttpResponse response;
  CPtr<curl_slist, curl_slist_free_all> headers;
  for (const auto& [name, value] : request.headers) {
    const std::string line = name + ": " + value;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  // No "Expect: 100-continue" round trip for bodies.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  Body body{&response.body, request.max_response};
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_response));
  // Explicit, though libcurl's defaults: no redirects, verified certificates and host names.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "warden/0.1");
  if (request.cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<CancelToken*>(request.cancel));
  }
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  const CURLcode rc = curl_easy_perform(curl);
  const std::string where = request.method + " " + Url::Redact(request.url);
  switch (rc) {
    case CURLE_OK:
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw HttpError(HttpError::Kind::kConnect,
                      where + ": cannot connect: " + curl_easy_strerror(rc));
    case CURLE_OPERATION_TIMEDOUT:
      throw HttpError(HttpError::Kind::kTimeout,
                      where + ": no complete answer within " + FormatDuration(request.timeout_ms));
    case CURLE_ABORTED_BY_CALLBACK:
      throw HttpError(HttpError::Kind::kCancelled, where + ": cancelled");
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WRITE_ERROR:
      if (rc == CURLE_FILESIZE_EXCEEDED || body.too_large) {
        throw HttpError(HttpError::Kind::kTransfer, where + ": the response is larger than " +
                                                        std::to_string(request.max_response) +
                                                        " bytes (max_response)");
      }
      throw HttpError(HttpError::Kind::kTransfer, where + ": " + curl_easy_strerror(rc));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
      throw HttpError(HttpError::Kind::kConnect,
                      where +
                          ": TLS: the server's certificate is not trusted or does not name it "
                          "(" +
                          curl_easy_strerror(rc) + "); certificates are always verified");
    default:
      throw HttpError(HttpError::Kind::kTransfer, where + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) response.content_type = type;
  return response;
}

}  // namespace warden
