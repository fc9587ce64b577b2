#include "common/url.h"

#include <charconv>

#include "common/percent_decode.h"

namespace warden {

namespace {

constexpr std::string_view kRedacted = "***";

std::nullopt_t Fail(std::string* why, std::string_view what) {
  if (why) *why = std::string(what);
  return std::nullopt;
}

// "a=1&b=2" into decoded pairs.
bool SplitQuery(std::string_view query, Url* url, std::string* why) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      *why = "a query parameter has no value (write key=value)";
      return false;
    }
    std::string key(pair.substr(0, eq));
    auto value = PercentDecode(pair.substr(eq + 1));
    if (!value) {
      *why = "bad percent-encoding in the value of \"" + key + "\"";
      return false;
    }
    url->query.emplace_back(std::move(key), std::move(*value));
  }
  return true;
}

}  // namespace

std::optional<Url> Url::Split(std::string_view text, std::string* why) {
  Url url;
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return Fail(why, "no scheme:// at the start");
  }
  url.scheme = std::string(text.substr(0, scheme_end));
  std::string_view rest = text.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));

  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // The authority ends at the first '/' after any userinfo ('/' may not appear in it unencoded;
  // an unencoded '@' may: the last one ends the userinfo).
  size_t at = rest.rfind('@');
  size_t slash = rest.find('/', at == std::string_view::npos ? 0 : at);
  if (slash != std::string_view::npos) {
    url.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon));
    if (!user) return Fail(why, "bad percent-encoding in the credentials");
    if (colon != std::string_view::npos) {
      url.password = PercentDecode(userinfo.substr(colon + 1));
      if (!url.password) return Fail(why, "bad percent-encoding in the credentials");
    }
    url.has_userinfo = true;
    url.user = std::move(*user);
  }

  std::string_view host = rest;
  std::string_view port;
  bool has_port = false;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Fail(why, "unterminated [IPv6] host");
    host = rest.substr(1, close - 1);
    if (host.empty()) return Fail(why, "empty [IPv6] host");
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Fail(why, "unexpected text after [IPv6] host");
      port = after.substr(1);
      has_port = true;
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) {
      return Fail(why, "put an IPv6 host in brackets: " + url.scheme + "://[::1]:PORT");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    has_port = true;
  }
  if (has_port && port.empty()) return Fail(why, "empty port");
  url.host = std::string(host);
  url.port = std::string(port);

  std::string query_why;
  if (!SplitQuery(query, &url, &query_why)) return Fail(why, query_why);
  return url;
}

std::string Url::Redact(std::string_view text) {
  text = text.substr(0, text.find('#'));
  std::string_view query;
  bool has_query = false;
  if (size_t q = text.find('?'); q != std::string_view::npos) {
    query = text.substr(q + 1);
    text = text.substr(0, q);
    has_query = true;
  }
  std::string out;
  size_t scheme_end = text.find("://");
  size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t at = text.rfind('@');
  size_t colon = text.find(':', start);
  if (at != std::string_view::npos && at >= start && colon != std::string_view::npos &&
      colon < at) {
    out = std::string(text.substr(0, colon + 1)) + std::string(kRedacted) +
          std::string(text.substr(at));
  } else {
    out = std::string(text);
  }
  if (!has_query) return out;
  out += '?';
  bool first = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!first) out += '&';
    first = false;
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos) out += std::string(pair.substr(0, eq + 1));
    out += kRedacted;
  }
  return out;
}

std::string Url::HostPort(std::string_view host, std::string_view port) {
  std::string shown =
      host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  return shown + ":" + std::string(port);
}

bool Url::ParseNumber(std::string_view text, int min, int max, int* out) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

}  // namespace warden
