#include "common/redis_redirect.h"

#include "common/url.h"

namespace warden {

namespace {

using Kind = RedisRedirect::Kind;

// The first word: the error's code, as Redis sends it (upper case).
std::string_view FirstWord(std::string_view text) { return text.substr(0, text.find(' ')); }

// "slot host:port" after MOVED or ASK. The host is not bracketed even when it is IPv6
// ("::1:7000"), so the port follows the last ':'.
bool ParseTarget(std::string_view rest, RedisRedirect* out) {
  size_t space = rest.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view slot = rest.substr(0, space);
  std::string_view address = rest.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = address.substr(0, colon);
  if (host.find_first_of(" \r\n") != std::string_view::npos) return false;
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  int slot_number = 0;
  int port = 0;
  if (!Url::ParseNumber(slot, 0, 16383, &slot_number)) return false;
  if (!Url::ParseNumber(address.substr(colon + 1), 1, 65535, &port)) return false;
  out->slot = slot_number;
  out->endpoint = {std::string(host), port};
  return true;
}

}  // namespace

RedisRedirect RedisRedirect::Classify(std::string_view error) {
  if (error.starts_with("-")) error.remove_prefix(1);
  std::string_view code = FirstWord(error);
  RedisRedirect redirect;
  if (code == "MOVED" || code == "ASK") {
    if (ParseTarget(error.substr(code.size() + (code.size() < error.size() ? 1 : 0)), &redirect)) {
      redirect.kind = code == "MOVED" ? Kind::kMoved : Kind::kAsk;
    } else {
      redirect = RedisRedirect{};
    }
  } else if (code == "TRYAGAIN") {
    redirect.kind = Kind::kTryAgain;
  } else if (code == "CLUSTERDOWN") {
    redirect.kind = Kind::kClusterDown;
  } else if (code == "READONLY") {
    redirect.kind = Kind::kReadOnly;
  } else if (code == "LOADING") {
    redirect.kind = Kind::kLoading;
  } else if (code == "MASTERDOWN") {
    redirect.kind = Kind::kMasterDown;
  } else if (code == "NOSCRIPT") {
    redirect.kind = Kind::kNoScript;
  }
  return redirect;
}

}  // namespace warden
