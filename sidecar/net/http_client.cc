#include "net/http_client.h"

#include <mutex>
#include <optional>

#include "base/cancel_token.h"
#include "base/duration.h"
#include "common/c_ptr.h"
#include "common/url.h"

namespace warden {

namespace {

size_t Append(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
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
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
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
