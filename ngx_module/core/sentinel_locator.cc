#include "core/sentinel_locator.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <unistd.h>

#include <exception>
#include <random>
#include <string_view>

namespace warden {

namespace {

constexpr int64_t kMinBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 5000;

std::string Text(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
             r->type != REDIS_REPLY_ERROR)) {
    return {};
  }
  return std::string(r->str, r->len);
}

// A port as Sentinel writes it (a bulk string), or 0.
int ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return 0;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : 0;
}

// hiredis resolves a host name with blocking calls: only addresses are connected to.
bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

uint64_t Seed() { return std::random_device{}() ^ (static_cast<uint64_t>(getpid()) << 20); }

}  // namespace

SentinelLocator::SentinelLocator(Settings settings, Clock clock, AsyncRedis::AttachFn attach,
                                 LogFn log)
    : settings_(std::move(settings)),
      clock_(std::move(clock)),
      attach_(std::move(attach)),
      log_(std::move(log)),
      query_backoff_(kMinBackoffMs, kMaxBackoffMs, Backoff::Jitter::kEqual, Seed()),
      sub_backoff_(kMinBackoffMs, kMaxBackoffMs, Backoff::Jitter::kEqual, Seed() + 1) {
  // Workers start together: each begins with another Sentinel, so they share the asking.
  if (!settings_.sentinels.empty()) {
    answered_last_ = static_cast<size_t>(getpid()) % settings_.sentinels.size();
    sub_next_ = answered_last_;
  }
}

SentinelLocator::~SentinelLocator() { Close(); }

void SentinelLocator::Close() {
  EndQuery();
  DropSubscription();
}

void SentinelLocator::Want() {
  wanted_until_ms_ = clock_() + kWantedMs;
  if (!primary_) query_needed_ = true;
}

void SentinelLocator::Suspect(const RedisNodeAddress& address, const std::string& why) {
  if (primary_ && *primary_ != address) return;  // a connection to the old one, left already
  if (!query_needed_) {
    log_(LogLevel::kDebug, "asking the sentinels for \"" + settings_.master_name +
                               "\" again: " + address.ToString() + " " + why);
  }
  query_needed_ = true;
}

void SentinelLocator::Confirm(const RedisNodeAddress& address) {
  query_backoff_.Reset();
  if (outage_logged_) {
    log_(LogLevel::kInfo, "the sentinels named a primary for \"" + settings_.master_name +
                              "\" again: " + address.ToString());
    outage_logged_ = false;
  }
  if (confirmed_ == address) return;
  std::string from = confirmed_ ? confirmed_->ToString() : "";
  confirmed_ = address;
  if (on_confirmed_) on_confirmed_(from, address.ToString());
}

void SentinelLocator::Tick() {
  if (settings_.sentinels.empty()) return;
  int64_t now = clock_();
  if (query_ac_ && now > query_deadline_ms_) {
    QueryFailed("did not answer within " + std::to_string(settings_.timeout_ms) + " ms");
  }
  if (!query_ac_ && query_needed_ && now >= next_query_ms_) StartQuery();

  bool wanted = now < wanted_until_ms_;
  if (!wanted) {
    DropSubscription();
    return;
  }
  if (sub_ac_ && !sub_connected_ && now > sub_deadline_ms_) {
    ++errors_;
    DropSubscription();
    next_subscribe_ms_ = now + sub_backoff_.Next();
  }
  if (!sub_ac_ && now >= next_subscribe_ms_) Subscribe();
}

redisAsyncContext* SentinelLocator::Open(size_t sentinel) {
  const RedisNodeAddress& address = settings_.sentinels[sentinel];
  redisAsyncContext* ac = redisAsyncConnect(address.host.c_str(), address.port);
  if (!ac) return nullptr;
  if (ac->err) {
    redisAsyncFree(ac);
    return nullptr;
  }
  ac->data = this;
  redisAsyncSetConnectCallback(ac, ConnectCallback);
  redisAsyncSetDisconnectCallback(ac, DisconnectCallback);
  if (!attach_(ac)) {
    redisAsyncFree(ac);
    return nullptr;
  }
  if (settings_.tls.enabled()) {
    const std::string& configured =
        sentinel < settings_.names.size() ? settings_.names[sentinel] : address.host;
    std::string why;
    if (!AsyncTls::Start(ac, settings_.tls.context.get(), settings_.tls.NameFor(configured),
                         &why)) {
      log_(LogLevel::kError, "sentinel " + address.ToString() + ": TLS: " + why);
      redisAsyncFree(ac);
      return nullptr;
    }
  }
  return ac;
}

void SentinelLocator::SendAuth(redisAsyncContext* ac) {
  if (settings_.password.empty()) return;
  // A Sentinel without a password (or without this user) refuses: it is asked anyway, and a
  // Sentinel that does want the password says so in its answer to the query.
  if (settings_.user.empty()) {
    redisAsyncCommand(ac, IgnoreCallback, nullptr, "AUTH %b", settings_.password.data(),
                      settings_.password.size());
  } else {
    redisAsyncCommand(ac, IgnoreCallback, nullptr, "AUTH %b %b", settings_.user.data(),
                      settings_.user.size(), settings_.password.data(), settings_.password.size());
  }
}

void SentinelLocator::StartQuery() {
  query_asked_ = 0;
  query_next_ = answered_last_;
  query_failures_.clear();
  // However many connections report the primary suspect, a round starts no sooner than this.
  next_query_ms_ = clock_() + query_backoff_.Next();
  AskSentinel();
}

void SentinelLocator::AskSentinel() {
  size_t n = settings_.sentinels.size();
  if (query_asked_ >= n) {
    ++errors_;
    if (!outage_logged_) {
      log_(LogLevel::kError, "no sentinel named a primary for \"" + settings_.master_name +
                                 "\": " + query_failures_ +
                                 " (nothing waits on it, asking again with backoff)");
      outage_logged_ = true;
    }
    return;
  }
  query_current_ = query_next_;
  query_next_ = (query_next_ + 1) % n;
  ++query_asked_;
  redisAsyncContext* ac = Open(query_current_);
  if (!ac) {
    QueryFailed("cannot connect");
    return;
  }
  SendAuth(ac);
  const char* argv[] = {"SENTINEL", "get-master-addr-by-name", settings_.master_name.c_str()};
  size_t lens[] = {8, 23, settings_.master_name.size()};
  if (redisAsyncCommandArgv(ac, QueryCallback, nullptr, 3, argv, lens) != REDIS_OK) {
    redisAsyncFree(ac);
    QueryFailed("cannot send the query");
    return;
  }
  query_ac_ = ac;
  query_deadline_ms_ = clock_() + settings_.timeout_ms;
}

void SentinelLocator::EndQuery() {
  redisAsyncContext* ac = query_ac_;
  query_ac_ = nullptr;  // its callbacks, run by the free, see it is no longer asked
  if (ac) redisAsyncFree(ac);
}

void SentinelLocator::QueryFailed(const std::string& why) {
  EndQuery();
  if (!query_failures_.empty()) query_failures_ += "; ";
  query_failures_ += "sentinel " + settings_.sentinels[query_current_].ToString() + " " + why;
  AskSentinel();
}

void SentinelLocator::OnQueryReply(redisReply* r) {
  if (r->type == REDIS_REPLY_NIL) {
    QueryFailed("does not monitor \"" + settings_.master_name + "\"");
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    QueryFailed("answered: " + Text(r));
    return;
  }
  int port = 0;
  std::string host;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
    host = Text(r->element[0]);
    port = ParsePort(Text(r->element[1]));
  }
  if (host.empty() || port == 0) {
    QueryFailed("gave an unexpected answer");
    return;
  }
  if (!IsIpLiteral(host)) {
    QueryFailed("named a host name (" + host +
                "), which a worker cannot resolve without blocking: have the Sentinels "
                "announce addresses (sentinel announce-hostnames no)");
    return;
  }
  answered_last_ = query_current_;
  std::string via = "sentinel " + settings_.sentinels[query_current_].ToString();
  EndQuery();
  query_needed_ = false;
  SetPrimary(RedisNodeAddress{host, port}, "named by " + via);
}

void SentinelLocator::SetPrimary(const RedisNodeAddress& address, const std::string& how) {
  if (primary_ == address) return;
  primary_ = address;
  ++generation_;
  log_(LogLevel::kDebug, "redis primary of \"" + settings_.master_name +
                             "\": " + address.ToString() + " (" + how + ")");
}

void SentinelLocator::Subscribe() {
  sub_current_ = sub_next_;
  sub_next_ = (sub_next_ + 1) % settings_.sentinels.size();
  redisAsyncContext* ac = Open(sub_current_);
  if (!ac) {
    ++errors_;
    next_subscribe_ms_ = clock_() + sub_backoff_.Next();
    return;
  }
  SendAuth(ac);
  if (redisAsyncCommand(ac, SubscriptionCallback, nullptr, "SUBSCRIBE +switch-master") !=
      REDIS_OK) {
    redisAsyncFree(ac);
    next_subscribe_ms_ = clock_() + sub_backoff_.Next();
    return;
  }
  sub_ac_ = ac;
  sub_connected_ = false;
  sub_deadline_ms_ = clock_() + settings_.timeout_ms;
}

void SentinelLocator::DropSubscription() {
  redisAsyncContext* ac = sub_ac_;
  sub_ac_ = nullptr;
  sub_connected_ = false;
  if (ac) redisAsyncFree(ac);
}

void SentinelLocator::OnMessage(redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR) {
    // NOAUTH: this Sentinel wants a password it was not given. Another may not.
    ++errors_;
    log_(LogLevel::kWarn, "sentinel " + settings_.sentinels[sub_current_].ToString() +
                              " refused the +switch-master subscription: " + Text(r));
    DropSubscription();
    next_subscribe_ms_ = clock_() + sub_backoff_.Next();
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  std::string kind = Text(r->element[0]);
  if (kind == "subscribe") {
    sub_connected_ = true;
    sub_backoff_.Reset();
    return;
  }
  if (kind != "message") return;
  // "<master name> <old ip> <old port> <new ip> <new port>"
  std::string payload = Text(r->element[2]);
  std::vector<std::string> words;
  size_t start = 0;
  while (start <= payload.size() && words.size() < 6) {
    size_t space = payload.find(' ', start);
    if (space == std::string::npos) space = payload.size();
    words.push_back(payload.substr(start, space - start));
    start = space + 1;
  }
  if (words.size() != 5 || words[0] != settings_.master_name) return;
  int port = ParsePort(words[4]);
  if (port == 0 || !IsIpLiteral(words[3])) return;
  query_backoff_.Reset();
  query_needed_ = false;
  SetPrimary(RedisNodeAddress{words[3], port},
             "+switch-master from sentinel " + settings_.sentinels[sub_current_].ToString());
}

// hiredis calls these from C, inside nginx's event handlers: nothing may unwind through it.
void SentinelLocator::QueryCallback(redisAsyncContext* ac, void* reply, void*) noexcept {
  auto* self = static_cast<SentinelLocator*>(ac->data);
  if (!reply || self->query_ac_ != ac) return;
  try {
    self->OnQueryReply(static_cast<redisReply*>(reply));
  } catch (...) {
    ++self->errors_;
  }
}

void SentinelLocator::SubscriptionCallback(redisAsyncContext* ac, void* reply, void*) noexcept {
  auto* self = static_cast<SentinelLocator*>(ac->data);
  if (!reply || self->sub_ac_ != ac) return;
  try {
    self->OnMessage(static_cast<redisReply*>(reply));
  } catch (...) {
    ++self->errors_;
  }
}

void SentinelLocator::IgnoreCallback(redisAsyncContext*, void*, void*) noexcept {}

void SentinelLocator::ConnectCallback(const redisAsyncContext* ac, int status) noexcept {
  if (status == REDIS_OK) return;
  auto* self = static_cast<SentinelLocator*>(ac->data);
  // hiredis frees the context itself after a failed connect.
  self->ContextGone(ac, "could not be connected to", AsyncTls::ErrorOf(ac));
}

void SentinelLocator::DisconnectCallback(const redisAsyncContext* ac, int status) noexcept {
  auto* self = static_cast<SentinelLocator*>(ac->data);
  // ac->err without REDIS_ERR: a TLS connection that broke (core/async_tls.h).
  self->ContextGone(ac, "closed the connection",
                    status == REDIS_OK && ac->err == 0 ? nullptr : AsyncTls::ErrorOf(ac));
}

void SentinelLocator::ContextGone(const redisAsyncContext* ac, const char* why,
                                  const char* detail) noexcept {
  try {
    if (ac == query_ac_) {
      query_ac_ = nullptr;  // hiredis frees it
      QueryFailed(detail ? std::string(why) + ": " + detail : std::string(why));
    } else if (ac == sub_ac_) {
      sub_ac_ = nullptr;
      sub_connected_ = false;
      ++errors_;
      next_subscribe_ms_ = clock_() + sub_backoff_.Next();
    }
  } catch (...) {
    ++errors_;
  }
}

}  // namespace warden
