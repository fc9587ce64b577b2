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
      sub_backoff_(kMinBackoffMs, kMaxBackoffMs, Backoff::Jitter::kEqual, Seed() + 1),
      watch_(clock_) {
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
  EndWatch();
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

void SentinelLocator::Confirm(const RedisNodeAddress& address,
                              const std::vector<RedisNodeAddress>& replicas) {
  query_backoff_.Reset();
  std::vector<RedisNodeAddress> usable;
  for (const RedisNodeAddress& r : replicas) {
    if (IsIpLiteral(r.host)) usable.push_back(r);
  }
  watch_.NoteReplicas(address, std::move(usable));
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
    EndWatch();
    return;
  }
  TickWatch(now);
  if (sub_ac_ && !sub_connected_ && now > sub_deadline_ms_) {
    ++errors_;
    DropSubscription();
    next_subscribe_ms_ = now + sub_backoff_.Next();
  }
  if (!sub_ac_ && now >= next_subscribe_ms_) Subscribe();
}

redisAsyncContext* SentinelLocator::Open(size_t sentinel) {
  const RedisNodeAddress& address = settings_.sentinels[sentinel];
  const std::string& configured =
      sentinel < settings_.names.size() ? settings_.names[sentinel] : address.host;
  return OpenNode(address, settings_.tls.NameFor(configured), "sentinel");
}

redisAsyncContext* SentinelLocator::OpenNode(const RedisNodeAddress& address,
                                             const std::string& tls_name, const char* what) {
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
    std::string why;
    if (!AsyncTls::Start(ac, settings_.tls.context.get(), tls_name, &why)) {
      log_(LogLevel::kError, std::string(what) + " " + address.ToString() + ": TLS: " + why);
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
  std::vector<const char*> argv = {"SUBSCRIBE"};
  std::vector<size_t> lens = {9};
  for (const char* channel : SentinelEvent::kChannels) {
    argv.push_back(channel);
    lens.push_back(std::string_view(channel).size());
  }
  if (redisAsyncCommandArgv(ac, SubscriptionCallback, nullptr, static_cast<int>(argv.size()),
                            argv.data(), lens.data()) != REDIS_OK) {
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
  std::optional<SentinelEvent> event =
      SentinelEvent::Parse(Text(r->element[1]), Text(r->element[2]));
  if (event && event->master_name == settings_.master_name) OnEvent(*event);
}

void SentinelLocator::OnEvent(const SentinelEvent& event) {
  const std::string via = "sentinel " + settings_.sentinels[sub_current_].ToString();
  switch (event.kind) {
    case SentinelEvent::Kind::kSwitchMaster:
      if (!IsIpLiteral(event.node.host)) return;
      watch_.Close();
      EndQuery();  // an answer on its way may still name the old primary
      query_backoff_.Reset();
      query_needed_ = false;
      SetPrimary(event.node, "+switch-master from " + via);
      return;
    case SentinelEvent::Kind::kMasterDown:
    case SentinelEvent::Kind::kWaitPromotion:
      if (!primary_ ||
          (event.kind == SentinelEvent::Kind::kWaitPromotion && !IsIpLiteral(event.node.host))) {
        return;
      }
      if (!watch_.Open(event, *primary_)) return;  // about a primary not in use
      watch_reason_ = via + (event.kind == SentinelEvent::Kind::kMasterDown
                                 ? " reported " + primary_->ToString() + " down"
                                 : " is promoting " + event.node.ToString());
      // The primary's own list may predate a replica: ask the Sentinel too, once a window.
      if (event.kind == SentinelEvent::Kind::kMasterDown && replicas_asked_for_ != *primary_) {
        AskForReplicas();
      }
      return;
  }
}

void SentinelLocator::TickWatch(int64_t now) {
  if (!watch_.open()) {
    EndWatch();
    return;
  }
  if (replicas_ac_ && now > replicas_deadline_ms_) EndReplicasQuery();
  for (Probe& p : probes_) {
    if (p.asking && now > p.deadline_ms) {
      CloseProbe(p);
      ProbeAnswered(p.address, false);
      if (!watch_.open()) return;  // decided
    }
  }
  for (const RedisNodeAddress& replica : watch_.Due()) Ask(replica);
}

SentinelLocator::Probe* SentinelLocator::FindProbe(const redisAsyncContext* ac) {
  if (!ac) return nullptr;
  for (Probe& p : probes_) {
    if (p.ac == ac) return &p;
  }
  return nullptr;
}

void SentinelLocator::Ask(const RedisNodeAddress& replica) {
  Probe* probe = nullptr;
  for (Probe& p : probes_) {
    if (p.address == replica) probe = &p;
  }
  if (!probe) {
    probes_.push_back(Probe{replica});
    probe = &probes_.back();
  }
  if (probe->asking) return;
  if (!probe->ac) {
    // A replica the Sentinels or the primary name is checked by its address (or
    // tls_server_name), as AsyncRedis checks the primary they name.
    probe->ac = OpenNode(replica, settings_.tls.NameFor(replica.host), "replica");
    if (!probe->ac) {
      ProbeAnswered(replica, false);
      return;
    }
    SendAuth(probe->ac);  // the data nodes' credentials
  }
  if (redisAsyncCommand(probe->ac, ProbeCallback, nullptr, "ROLE") != REDIS_OK) {
    CloseProbe(*probe);
    return;
  }
  probe->asking = true;
  probe->deadline_ms = clock_() + settings_.timeout_ms;
}

void SentinelLocator::OnProbeReply(const redisAsyncContext* ac, redisReply* r) {
  Probe* probe = FindProbe(ac);
  if (!probe) return;
  probe->asking = false;
  bool master = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                r->element[0]->type == REDIS_REPLY_STRING && Text(r->element[0]) == "master";
  ProbeAnswered(probe->address, master);
}

void SentinelLocator::ProbeAnswered(const RedisNodeAddress& replica, bool master) {
  std::optional<RedisNodeAddress> promoted = watch_.Answer(replica, master);
  if (!promoted) return;
  // The Sentinels will name it too (+switch-master, about a second from now); a query on its
  // way would still name the old primary.
  EndQuery();
  query_backoff_.Reset();
  query_needed_ = false;
  SetPrimary(*promoted, "it answers ROLE master since " + watch_reason_ +
                            ": promoted, not yet announced by +switch-master");
  // The probes are closed at the next tick, not from inside their own callback.
}

void SentinelLocator::CloseProbe(Probe& probe) {
  redisAsyncContext* ac = probe.ac;
  probe.ac = nullptr;  // its callbacks, run by the free, find no probe
  probe.asking = false;
  if (ac) redisAsyncFree(ac);
}

void SentinelLocator::EndWatch() {
  watch_.Close();
  for (Probe& p : probes_) CloseProbe(p);
  probes_.clear();
  EndReplicasQuery();
  replicas_asked_for_.reset();
}

void SentinelLocator::AskForReplicas() {
  replicas_asked_for_ = *primary_;
  EndReplicasQuery();
  redisAsyncContext* ac = Open(sub_current_);
  if (!ac) return;
  SendAuth(ac);
  const char* argv[] = {"SENTINEL", "REPLICAS", settings_.master_name.c_str()};
  size_t lens[] = {8, 8, settings_.master_name.size()};
  if (redisAsyncCommandArgv(ac, ReplicasCallback, nullptr, 3, argv, lens) != REDIS_OK) {
    redisAsyncFree(ac);
    return;
  }
  replicas_ac_ = ac;
  replicas_deadline_ms_ = clock_() + settings_.timeout_ms;
}

void SentinelLocator::EndReplicasQuery() {
  redisAsyncContext* ac = replicas_ac_;
  replicas_ac_ = nullptr;
  if (ac) redisAsyncFree(ac);
}

void SentinelLocator::OnReplicasReply(redisReply* r) {
  std::vector<RedisNodeAddress> replicas;
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r->elements && i < 64; ++i) {
      const redisReply* entry = r->element[i];
      if (entry->type != REDIS_REPLY_ARRAY) continue;
      std::vector<std::pair<std::string, std::string>> fields;
      for (size_t f = 0; f + 1 < entry->elements; f += 2) {
        fields.emplace_back(Text(entry->element[f]), Text(entry->element[f + 1]));
      }
      std::optional<SentinelReplica> replica = SentinelReplica::FromFields(fields);
      if (replica && replica->Reachable() && IsIpLiteral(replica->address.host)) {
        replicas.push_back(replica->address);
      }
    }
  }
  // An error (a Sentinel that wants a password, or no Sentinel at all) leaves the primary's
  // own list.
  if (replicas_asked_for_) watch_.AddCandidates(*replicas_asked_for_, replicas);
  EndReplicasQuery();
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

void SentinelLocator::ProbeCallback(redisAsyncContext* ac, void* reply, void*) noexcept {
  auto* self = static_cast<SentinelLocator*>(ac->data);
  if (!reply) return;
  try {
    self->OnProbeReply(ac, static_cast<redisReply*>(reply));
  } catch (...) {
    ++self->errors_;
  }
}

void SentinelLocator::ReplicasCallback(redisAsyncContext* ac, void* reply, void*) noexcept {
  auto* self = static_cast<SentinelLocator*>(ac->data);
  if (!reply || self->replicas_ac_ != ac) return;
  try {
    self->OnReplicasReply(static_cast<redisReply*>(reply));
  } catch (...) {
    ++self->errors_;
  }
}

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
    } else if (ac == replicas_ac_) {
      replicas_ac_ = nullptr;  // the primary's own list is still asked
    } else if (Probe* probe = FindProbe(ac)) {
      // Refused, or closed: Sentinel's REPLICAOF NO ONE closes the replica's clients. Asked
      // again on a new connection when due; until then it counts as no master.
      probe->ac = nullptr;
      probe->asking = false;
      ProbeAnswered(probe->address, false);
    }
  } catch (...) {
    ++errors_;
  }
}

}  // namespace warden
